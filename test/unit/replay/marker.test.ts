import { describe, expect, it } from 'vitest';
import { validateEvent } from '../../../src/event/index.js';
import { MAX_REPLAY_SPEED, checkReplayTarget, checkReplayVersion, isReplay, markReplay } from '../../../src/replay/index.js';

const original = {
  event_id: '6f1c2a9e-3b7d-4c1e-9a2b-5d8e7f6a1b2c',
  timestamp: '2026-01-02T03:04:05.000006Z',
  node_id: 'stamper_node-001',
  event_type: 'NODE_START',
  correlation_id: '0b7e1d9c-2a4f-4e8b-9c3d-1f2e3a4b5c6d',
  schema_version: '1.3.0',
  trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
  metadata: { input_state: { n: 1 } },
  replay: null,
};

describe('replay marker', () => {
  it('makes a new event that names its original and keeps the flow and the trace', () => {
    const copy = markReplay(original, { replayId: 'r1', speed: 10, replayedAtMicros: 1_800_000_000_000_000 });
    expect(copy.event_id).not.toBe(original.event_id);
    expect(copy.correlation_id).toBe(original.correlation_id);
    expect(copy.trace_id).toBe(original.trace_id);
    expect(copy.replay).toEqual({ original_event_id: original.event_id, replayed_at: copy.timestamp, speed: 10, replay_id: 'r1' });
    expect(isReplay(copy)).toBe(true);
    expect(isReplay(original)).toBe(false);
    expect(original.replay).toBeNull();
    expect(() => validateEvent(copy)).not.toThrow();
  });

  it('a replay of a replay points at the first original; max is a valid speed', () => {
    const once = markReplay(original, { replayId: 'r1', speed: 2 });
    const twice = markReplay(once, { replayId: 'r2', speed: 'max' });
    expect(twice.replay.original_event_id).toBe(original.event_id);
    expect(twice.replay.speed).toBe(MAX_REPLAY_SPEED);
    expect(() => validateEvent(twice)).not.toThrow();
  });

  it('refuses versions without the marker and the source topic without the flag', () => {
    expect(() => checkReplayVersion('1.2.0')).toThrow(expect.objectContaining({ code: 'ONEX_CLI_321' }));
    expect(() => checkReplayVersion('2.0.0')).not.toThrow();
    expect(() => checkReplayTarget(['onex.events'], 'onex.events')).toThrow(expect.objectContaining({ code: 'ONEX_CLI_320' }));
    expect(() => checkReplayTarget(['onex.events'], 'onex.events', true)).not.toThrow();
    expect(() => checkReplayTarget(['onex.events'], 'onex.replay')).not.toThrow();
  });
});
