import { describe, expect, it } from 'vitest';
import { buildTraceTree, nodeSpans, renderTraceTree, type Flow, type TraceEvent } from '../../../src/processors/correlation/index.js';

const ev = (node_id: string, event_type: string, time_ms: number, extra: Partial<TraceEvent> = {}): TraceEvent => ({
  event_id: `${node_id}-${time_ms}`, event_type, node_id, time_ms, partition: 0, offset: String(time_ms), error_code: null, replay: false, metadata: null, ...extra,
});
const flow = (id: string, parent: string | null = null): Flow => ({
  correlation_id: id, segments: [], count: 0, first_time_ms: 0, last_time_ms: 0, node_ids: [], event_types: [], parent_correlation_id: parent,
  trace_id: 'abcdef0123456789abcdef0123456789', children: [], failures: 0, error_codes: [], replays: 0,
});

describe('trace trees', () => {
  it('a node span runs from its START to its last SUCCESS or FAILURE; without one it is open', () => {
    const spans = nodeSpans([ev('a', 'NODE_SUCCESS', 130), ev('a', 'NODE_START', 10), ev('b', 'NODE_START', 20), ev('c', 'NODE_START', 5), ev('c', 'NODE_FAILURE', 45, { error_code: 'ONEX_EVENT_610' })]);
    expect(spans.map((s) => [s.node_id, s.status, s.duration_ms, s.error_codes])).toEqual([
      ['c', 'failure', 40, ['ONEX_EVENT_610']],
      ['a', 'success', 120, []],
      ['b', 'open', null, []],
    ]);
  });

  it('links flows by parent id, marks failures and replays, and renders offsets from the start and durations', () => {
    const events = new Map([
      ['root', [ev('gateway_node-1', 'NODE_START', 1000), ev('gateway_node-1', 'NODE_SUCCESS', 1300)]],
      ['child', [ev('worker_node-1', 'NODE_START', 1050), ev('worker_node-1', 'NODE_FAILURE', 1250, { error_code: 'ONEX_EVENT_610', replay: true })]],
      ['orphan', [ev('x_node-1', 'NODE_START', 2000)]],
    ]);
    const tree = buildTraceTree([flow('root'), flow('child', 'root'), flow('orphan', 'gone')], events);
    expect(tree.roots.map((r) => r.correlation_id)).toEqual(['root', 'orphan']);
    expect(tree.roots[0]!.children.map((c) => [c.correlation_id, c.status, c.duration_ms, c.replays])).toEqual([['child', 'failure', 200, 1]]);
    expect(tree).toMatchObject({ flows: 3, events: 5, start_ms: 1000, end_ms: 2000 });
    const text = renderTraceTree(tree);
    expect(text.split('\n')).toEqual([
      'flow root  +0 ms  300 ms  2 events  trace abcdef01…',
      '├─ gateway_node-1 success  +0 ms  300 ms  START → SUCCESS',
      '└─ flow child  +50 ms  200 ms  2 events  trace abcdef01… [replay 1]',
      '   └─ worker_node-1 failure  +50 ms  200 ms  START → FAILURE  ONEX_EVENT_610 [replay]',
      'flow orphan  +1.00 s  0 ms  1 events  trace abcdef01…',
      '└─ x_node-1 open  +1.00 s  running  START',
      '3 flows, 5 events, 1.00 s',
    ]);
  });
});
