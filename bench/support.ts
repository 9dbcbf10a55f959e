import { randomUUID } from 'node:crypto';
import { nowTimestamp } from '../src/event/index.js';
import { SyntheticEvents } from '../src/dev/index.js';
import type { OnexProducer } from '../src/producer/index.js';

/** `n` synthetic 1 KB 1.3.0 events with fresh ids and timestamps (the same stream for the same seed). */
export function makeEvents(n: number, seed: number): Array<Record<string, unknown>> {
  const g = new SyntheticEvents({ versions: ['1.3.0'], sizeBytes: 1024, seed });
  return Array.from({ length: n }, () => ({ ...g.next().event, event_id: randomUUID(), timestamp: nowTimestamp() }));
}

/**
 * Emits every event and flushes; returns the bytes the producer reported as sent. emit() resolves on
 * acknowledgement, so a window of outstanding emits keeps the batches full and memory bounded.
 */
export async function emitAll(producer: OnexProducer, list: ReadonlyArray<Record<string, unknown>>, window: number): Promise<number> {
  let bytes = 0;
  let pending: Promise<unknown>[] = [];
  for (const e of list) {
    pending.push(producer.emit(e).then((r) => (bytes += r.status === 'sent' ? r.bytes : 0)));
    if (pending.length >= window) {
      await Promise.all(pending);
      pending = [];
    }
  }
  await Promise.all(pending);
  await producer.flush();
  return bytes;
}
