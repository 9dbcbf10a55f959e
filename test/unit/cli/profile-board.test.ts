import { describe, expect, it } from 'vitest';
import { ProfileBoard } from '../../../src/cli/profile/board.js';

const profile = (node: string, operation: string, p99: number) => ({
  event_type: 'PERFORMANCE_PROFILE',
  node_id: node,
  timestamp: '2026-05-25T14:17:21.178483Z',
  metadata: { operation, duration_ms: p99 / 2, sample_count: 10, cpu_time_ms: 1, memory_peak_bytes: 50 * 1_048_576, breakdown: { p50_ms: p99 / 2, p95_ms: p99 * 0.9, p99_ms: p99, max_ms: p99 * 1.1, window_ms: 10_000 } },
});

describe('the onex profile board', () => {
  it('keeps the latest window per node and operation, sorted by p99, with the p99 trend', () => {
    const b = new ProfileBoard();
    b.add(profile('a_node-1', 'handle X', 5));
    b.add(profile('a_node-1', 'send t', 40));
    expect(b.add(profile('a_node-1', 'handle X', 80))!.p99_trend_ms).toBe(75);
    expect(b.add({ event_type: 'NODE_START', node_id: 'a_node-1', metadata: {} })).toBeUndefined();
    expect(b.sorted().map((r) => [r.operation, r.p99_ms])).toEqual([['handle X', 80], ['send t', 40]]);
    const lines = b.render().split('\n');
    expect(lines[0]).toMatch(/^NODE\s+OPERATION\s+COUNT\s+P50 ms\s+P95 ms\s+P99 ms\s+MAX ms\s+TREND p99/);
    expect(lines[1]).toMatch(/^a_node-1\s+handle X\s+10\s+40\.0\s+72\.0\s+80\.0\s+88\.0\s+↑ \+75\.0/);
    expect(lines[2]).toMatch(/send t .* 40\.0 .* 50 MB/);
  });

  it('--node keeps one node', () => {
    const b = new ProfileBoard('b_node-2');
    expect(b.add(profile('a_node-1', 'x', 1))).toBeUndefined();
    expect(b.add(profile('b_node-2', 'x', 1))!.node_id).toBe('b_node-2');
  });
});
