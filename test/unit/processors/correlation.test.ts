import { describe, expect, it } from 'vitest';
import type { AnyOnexEvent } from '../../../src/event/index.js';
import { correlationIndexDefinition, foldEvent, indexPartitionOf, type FlowSegment } from '../../../src/processors/correlation/index.js';
import { runLocally } from '../../../src/processors/index.js';

const ev = (over: Record<string, unknown>): AnyOnexEvent =>
  ({ event_id: crypto.randomUUID(), node_id: 'n_1', event_type: 'NODE_START', timestamp: '2026-01-02T03:04:05.000000Z', schema_version: '2.0.0', ...over }) as unknown as AnyOnexEvent;

describe('the correlation index definition', () => {
  it('folds a flow: offsets, times, count, distinct nodes and types, failures with codes, replays, first parent and trace', () => {
    let s: FlowSegment | undefined;
    const at = (offset: string, timeMs: number) => ({ topic: 't', partition: 2, offset, timeMs });
    s = foldEvent(s, ev({ correlation_id: 'a', trace: { trace_id: 'T1' } }), at('10', 2000));
    s = foldEvent(s, ev({ correlation_id: 'a', node_id: 'n_2', event_type: 'NODE_FAILURE', error: { code: 'ONEX_EVENT_610' }, parent_correlation_id: 'p' }), at('12', 1500));
    s = foldEvent(s, ev({ correlation_id: 'a', replay: { original_event_id: 'x' }, parent_correlation_id: 'q', trace_id: 'T2' }), at('15', 2500));
    expect(s).toEqual({
      correlation_id: 'a', topic: 't', partition: 2, first_offset: '10', last_offset: '15', first_time_ms: 1500, last_time_ms: 2500, count: 3,
      node_ids: ['n_1', 'n_2'], event_types: ['NODE_START', 'NODE_FAILURE'], parent_correlation_id: 'p', trace_id: 'T1',
      failures: 1, error_codes: ['ONEX_EVENT_610'], replays: 1,
    });
  });

  it('emits each changed flow once per batch, and a trace or child link only when the flow gains it', () => {
    const def = correlationIndexDefinition({ indexTopic: 'idx', indexPartitions: 6 });
    const run = runLocally(def, [
      ev({ correlation_id: 'a', trace: { trace_id: 'T' } }),
      ev({ correlation_id: 'a' }),
      ev({ correlation_id: 'b', parent_correlation_id: 'a' }),
      ev({ correlation_id: undefined }),
    ]);
    const keys = run.output.map((r) => JSON.parse(r.key as string) as unknown[]);
    expect(keys).toEqual([['flow', 'a', 'local', 0], ['trace', 'T', 'a'], ['flow', 'b', 'local', 0], ['child', 'a', 'b']]);
    expect(run.output.map((r) => r.partition)).toEqual([indexPartitionOf('a', 6), indexPartitionOf('T', 6), indexPartitionOf('b', 6), indexPartitionOf('a', 6)]);
    expect(JSON.parse(run.output[0]!.value as string)).toMatchObject({ count: 2 });
    expect(run.state.store('flows').size).toBe(2);
  });

  it('indexes nothing with the flag off', () => {
    const run = runLocally(correlationIndexDefinition({ indexPartitions: 1, enabled: () => false }), [ev({ correlation_id: 'a' })]);
    expect(run.output).toEqual([]);
  });
});
