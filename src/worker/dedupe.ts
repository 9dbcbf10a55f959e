import type { EventHandler } from './types.js';

/**
 * A bounded memory of event ids, for handlers that must not act twice on one event. Delivery is at-least-once: after
 * a crash or a rebalance, records handled but not yet committed come again. This remembers the last `maxEntries`
 * ids (least recently seen forgotten first), which covers a redelivered uncommitted tail; it is per process, so an
 * idempotent write keyed by event_id in the handler's own store remains the complete answer.
 */
export interface EventIdDedupeOptions {
  /** Default 10,000. */
  maxEntries?: number;
}

export class EventIdDedupe {
  readonly maxEntries: number;
  private readonly ids = new Map<string, true>();

  constructor(options: EventIdDedupeOptions = {}) {
    const max = options.maxEntries ?? 10_000;
    if (!Number.isInteger(max) || max < 1) throw new RangeError('maxEntries must be a whole number above 0');
    this.maxEntries = max;
  }

  get size(): number {
    return this.ids.size;
  }

  has(eventId: string): boolean {
    if (!this.ids.has(eventId)) return false;
    // Seen again: it is recent now.
    this.ids.delete(eventId);
    this.ids.set(eventId, true);
    return true;
  }

  remember(eventId: string): void {
    this.ids.delete(eventId);
    this.ids.set(eventId, true);
    if (this.ids.size > this.maxEntries) {
      const oldest = this.ids.keys().next().value as string;
      this.ids.delete(oldest);
    }
  }

  /**
   * The handler, run at most once per event id within the window. The id is remembered only after the handler
   * succeeded, so a failed attempt is retried rather than skipped.
   */
  wrap<E extends { event_id?: unknown }>(handler: EventHandler<E>): EventHandler<E> {
    return async (event, ctx) => {
      const id = typeof event.event_id === 'string' ? event.event_id : undefined;
      if (id !== undefined && this.has(id)) return;
      await handler(event, ctx);
      if (id !== undefined) this.remember(id);
    };
  }
}
