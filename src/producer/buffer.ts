import { onexError, type OnexError } from '../errors/index.js';

interface Waiter {
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: OnexError) => void;
  timer: NodeJS.Timeout | undefined;
}

/**
 * The producer's memory bound: bytes of every event accepted and not yet settled (acknowledged or failed). When an
 * event does not fit, the overflow policy decides: 'reject' fails it at once, 'block' queues the caller until space
 * frees or the block timeout passes; both fail with ONEX_EVENT_608 (retriable), never a silent drop. Waiters are
 * admitted in arrival order, and a new caller never overtakes a waiting one.
 */
export class ProducerBuffer {
  private used = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly maxBytes: number,
    private readonly blockTimeoutMs: number,
    private readonly onChange: (usedBytes: number) => void = () => undefined,
  ) {}

  get usedBytes(): number {
    return this.used;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes the space now if it is free and nobody waits for it. */
  tryReserve(bytes: number): boolean {
    if (this.waiters.length > 0 || this.used + bytes > this.maxBytes) return false;
    this.used += bytes;
    this.onChange(this.used);
    return true;
  }

  /** Waits for the space, in turn, up to the block timeout. */
  reserve(bytes: number): Promise<void> {
    if (this.tryReserve(bytes)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { bytes, resolve, reject, timer: undefined };
      waiter.timer = setTimeout(() => {
        const i = this.waiters.indexOf(waiter);
        if (i < 0) return;
        this.waiters.splice(i, 1);
        reject(this.fullError(bytes, `waited ${this.blockTimeoutMs} ms for space`));
        this.admit(); // the head may have changed
      }, this.blockTimeoutMs);
      this.waiters.push(waiter);
    });
  }

  release(bytes: number): void {
    this.used -= bytes;
    this.onChange(this.used);
    this.admit();
  }

  fullError(bytes: number, what: string): OnexError {
    return onexError(
      'ONEX_EVENT_608',
      `the producer buffer is full (${this.used} of ${this.maxBytes} bytes hold events not yet acknowledged by Kafka; ${what}); the event of ${bytes} bytes was not accepted, try again later`,
      { details: { usedBytes: this.used, maxBytes: this.maxBytes, eventBytes: bytes } },
    );
  }

  private admit(): void {
    while (this.waiters.length > 0) {
      const head = this.waiters[0]!;
      if (this.used + head.bytes > this.maxBytes) return;
      this.waiters.shift();
      clearTimeout(head.timer);
      this.used += head.bytes;
      this.onChange(this.used);
      head.resolve();
    }
  }
}
