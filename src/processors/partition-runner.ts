import { timestampMicros, type AnyOnexEvent, type SchemaVersion } from '../event/index.js';
import type { PartitionState } from './partition-state.js';
import type { KeyedStore, LatePolicy, OutputRecord, ProcessorDefinition, RecordContext } from './types.js';

/**
 * Runs a processor definition over one partition's state in event time: each event moves the clock, fires the
 * timers the watermark passed, then reaches `process`; a late event is counted and dropped or processed as the
 * policy says. A throwing handler leaves neither state changes nor emitted records behind (then rethrows). Shared by
 * the Kafka task and the brokerless runner, so both mean the same thing by every event.
 */

export interface RecordMeta {
  offset: string;
  writerVersion: SchemaVersion;
}

export interface PartitionRunnerOptions {
  topic: string;
  partition: number;
  late: LatePolicy;
  onLate?: () => void;
  onTimerFired?: () => void;
}

/** The event's time in milliseconds; undefined when its timestamp is missing or unreadable. */
export function eventTimeOf(event: { timestamp?: unknown }): number | undefined {
  const ts = event.timestamp;
  if (typeof ts !== 'string') return undefined;
  const micros = timestampMicros(ts);
  return micros === undefined ? undefined : Math.floor(micros / 1000);
}

export class PartitionRunner implements RecordContext {
  readonly topic: string;
  readonly partition: number;
  offset = '';
  eventTime = -Infinity;
  late = false;
  writerVersion: SchemaVersion = '2.0.0';
  eventId: string | undefined;
  /** Records emitted since the last takeOutput(). */
  private outbox: OutputRecord[] = [];

  constructor(
    readonly state: PartitionState,
    private readonly definition: ProcessorDefinition,
    private readonly o: PartitionRunnerOptions,
  ) {
    this.topic = o.topic;
    this.partition = o.partition;
  }

  get watermark(): number {
    return this.state.watermark;
  }

  store<V = unknown>(name: string): KeyedStore<V> {
    return this.state.store<V>(name);
  }

  emit(record: OutputRecord): void {
    this.outbox.push(record);
  }

  setTimer(id: string, at: number): void {
    this.state.setTimer(id, at);
  }

  cancelTimer(id: string): void {
    this.state.cancelTimer(id);
  }

  timer(id: string): number | undefined {
    return this.state.timers.get(id);
  }

  /** One event; returns false when it was late and dropped. */
  process(event: AnyOnexEvent, meta: RecordMeta): boolean {
    const mark = this.state.mark();
    const emitted = this.outbox.length;
    try {
      const time = eventTimeOf(event) ?? this.state.streamTime;
      const onTime = this.state.observe(time);
      if (!onTime) {
        this.o.onLate?.();
        if (this.o.late === 'drop') return false;
      }
      this.fireDue();
      this.offset = meta.offset;
      this.eventTime = time;
      this.late = !onTime;
      this.writerVersion = meta.writerVersion;
      this.eventId = typeof event.event_id === 'string' ? event.event_id : undefined;
      this.definition.process(event, this);
      return true;
    } catch (err) {
      this.state.rollbackTo(mark);
      this.outbox.length = emitted;
      throw err;
    }
  }

  /** Fires every timer the watermark passed, earliest first. */
  fireDue(): void {
    const onTimer = this.definition.onTimer;
    for (let t = this.state.nextDueTimer(); t !== undefined; t = this.state.nextDueTimer()) {
      this.o.onTimerFired?.();
      onTimer?.call(this.definition, t.id, t.at, this);
    }
  }

  /** Moves the watermark to at least `watermark`, expires state past its TTL and fires what came due. */
  advanceTo(watermark: number): void {
    if (watermark > this.state.watermark) this.state.advanceWatermark(watermark);
    this.state.sweep();
    this.fireDue();
  }

  /** The definition's end of a transaction (endBatch), before its output is taken. */
  endBatch(): void {
    this.definition.endBatch?.call(this.definition, this);
  }

  takeOutput(): OutputRecord[] {
    const out = this.outbox;
    this.outbox = [];
    return out;
  }

  /** Drops the emitted records (the transaction was aborted). */
  discardOutput(): void {
    this.outbox = [];
  }
}
