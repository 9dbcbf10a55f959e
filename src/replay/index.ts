/**
 * Public face of replay: re-emit stored events of one flow (by correlation id) or one time range into a replay
 * topic, in their original order, with their original gaps divided by a speed on an absolute schedule, read through
 * the worker's decode and upcast path and stamped with the 1.3.0 replay marker. docs/replay.md describes it.
 */
export { DEFAULT_PACER, ReplayScheduler, dueOffsets, parseSpeed, realClock, replayDurationMs } from './schedule.js';
export type { PacerOptions, ReplaySpeed, ScheduleClock } from './types.js';
export { MAX_REPLAY_SPEED, REPLAY_MARKER_SINCE, checkReplayVersion, isReplay, markReplay, speedField } from './marker.js';
export type { ReplayMarkerFields, ReplayStamp } from './marker.js';
export { checkReplayTarget } from './target.js';
export { compileWhere, coveringRanges, originalOrder, runReplay, sealedSkip, withDescendants } from './replay.js';
export type { ReplayOptions, ReplayProgress, ReplaySelection, ReplaySummary } from './types.js';
export { decodeRecord, inTimeRange, readRanges, scanRanges, timeRanges, wholeTopic } from './reader.js';
export type { PartitionRange, ReadEvent } from './types.js';
export type { ReadResult } from './reader.js';
