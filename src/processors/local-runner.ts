import type { AnyOnexEvent, SchemaVersion } from '../event/index.js';
import { PartitionRunner } from './partition-runner.js';
import { PartitionState } from './partition-state.js';
import type { EventTimeOptions, OutputRecord, ProcessorDefinition } from './types.js';

/**
 * A processor definition over a recorded stream, without a broker: one partition, event time only (no wall clock),
 * deterministic. The same PartitionRunner a Kafka task uses runs every event; `until` then moves the watermark on to
 * fire the timers due by then (an absence at the end of a recording).
 */
export interface LocalRunOptions extends Omit<EventTimeOptions, 'tick'> {
  /** Each event's writer version (what a decoder would report); default the event's schema_version or 1.0.0. */
  writerVersionOf?: (event: AnyOnexEvent) => SchemaVersion;
  /** After the last event, move the watermark to this time (ms) and fire what is due. */
  until?: number;
  /** The partition number the definition is told it runs on (default 0): a replay of one partition of a topic. */
  partition?: number;
}

export interface LocalRun {
  output: OutputRecord[];
  late: number;
  state: PartitionState;
}

export function runLocally(definition: ProcessorDefinition, events: Iterable<AnyOnexEvent>, o: LocalRunOptions = {}): LocalRun {
  let late = 0;
  const state = new PartitionState({ allowedLatenessMs: o.allowedLatenessMs ?? 0, stores: definition.stores ?? {} });
  const runner = new PartitionRunner(state, definition, { topic: 'local', partition: o.partition ?? 0, late: o.late ?? 'drop', onLate: () => late++ });
  const versionOf = o.writerVersionOf ?? ((e: AnyOnexEvent) => ((e as { schema_version?: SchemaVersion }).schema_version ?? '1.0.0'));
  const output: OutputRecord[] = [];
  let offset = 0;
  for (const event of events) {
    runner.process(event, { offset: String(offset++), writerVersion: versionOf(event) });
    output.push(...runner.takeOutput());
    // Nothing is rolled back across events here: the undo log is let go as it would be at a commit.
    state.settle();
  }
  if (o.until !== undefined) runner.advanceTo(o.until);
  runner.endBatch();
  output.push(...runner.takeOutput());
  state.settle();
  return { output, late, state };
}
