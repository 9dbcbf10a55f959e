import { randomUUID } from 'node:crypto';
import { formatTimestamp, onexError, versionAtLeast, type SchemaVersion } from '../event/index.js';
import type { ReplaySpeed } from './types.js';

/**
 * The replay marker (schema 1.3.0 and later, field `replay`): a replayed event is a new event (its own event_id and
 * timestamp, the time the replay emitted it) that names the event it copies (replay.original_event_id), when it was
 * emitted (replay.replayed_at), at what speed and by which replay session (replay.replay_id). It keeps the original's
 * correlation_id, parent_correlation_id and trace id, so a replayed flow is found and drawn as the original was and
 * its trace stays linked to the original's. Workers and alert rules tell replays apart by `replay != null`.
 */

/** The oldest version that has the replay field; a replay into an older one could not be told from live events. */
export const REPLAY_MARKER_SINCE: SchemaVersion = '1.3.0';

export interface ReplayStamp {
  replayId: string;
  /** The speed stamped into replay.speed (see speedField for `max`). */
  speed: ReplaySpeed;
  /** Microseconds since the epoch; default now. */
  replayedAtMicros?: number;
}

/**
 * replay.speed of a replay. Validation asks for a positive finite double (JSON has no Infinity), so `--speed max`
 * is written as Number.MAX_VALUE (MAX_REPLAY_SPEED): larger than any speed one can ask for, and read back as `max`.
 */
export const MAX_REPLAY_SPEED = Number.MAX_VALUE;

export function speedField(speed: ReplaySpeed): number {
  return speed === 'max' ? MAX_REPLAY_SPEED : speed;
}

export function checkReplayVersion(version: SchemaVersion): void {
  if (!versionAtLeast(version, REPLAY_MARKER_SINCE)) {
    throw onexError('ONEX_CLI_321', `schema ${version} has no replay marker, so replayed events could not be told from live ones; replay into ${REPLAY_MARKER_SINCE} or later`);
  }
}

/**
 * A copy of `event` (already in the target version, 1.3.0 or later) marked as a replay. The original is not
 * changed. An event that is itself a replay keeps pointing at the first original.
 */
export interface ReplayMarkerFields {
  original_event_id: string;
  replayed_at: string;
  speed: number;
  replay_id: string | null;
}

export function markReplay<E extends Record<string, unknown>>(event: E, stamp: ReplayStamp): Omit<E, 'replay'> & { replay: ReplayMarkerFields } {
  const micros = stamp.replayedAtMicros ?? Math.round((performance.timeOrigin + performance.now()) * 1000);
  const at = formatTimestamp(micros);
  const previous = event.replay as { original_event_id?: unknown } | null | undefined;
  const original = String(typeof previous?.original_event_id === 'string' ? previous.original_event_id : event.event_id);
  return {
    ...event,
    event_id: randomUUID(),
    timestamp: at,
    replay: { original_event_id: original, replayed_at: at, speed: speedField(stamp.speed), replay_id: stamp.replayId },
  };
}

/** True when the event carries a replay marker. */
export function isReplay(event: { replay?: unknown }): boolean {
  return event.replay !== undefined && event.replay !== null;
}
