import type { IHeaders, Message } from 'kafkajs';
import type { OnexError } from '../errors/index.js';
import type { SourceRecord } from './types.js';

/**
 * The dead-letter record: the original key, value and headers, byte for byte, plus headers that say what failed and
 * where the record came from, so that `onex dlq redrive` can put it back where it was once the cause is fixed.
 */
export const DLQ_HEADERS = Object.freeze({
  errorCode: 'onex.dlq.error_code',
  reason: 'onex.dlq.reason',
  sourceTopic: 'onex.dlq.source_topic',
  sourcePartition: 'onex.dlq.source_partition',
  sourceOffset: 'onex.dlq.source_offset',
  attempts: 'onex.dlq.attempts',
  failedAt: 'onex.dlq.failed_at',
  group: 'onex.dlq.group',
  /** How often the record went through `onex dlq redrive`: kept across round trips so loops can be seen. */
  redrives: 'onex.dlq.redrives',
});

const DLQ_PREFIX = 'onex.dlq.';
/** A reason is one sentence for a person; a handler's error message could be megabytes of stack or payload. */
export const MAX_REASON_BYTES = 1_000;

export interface DeadLetterFailure {
  error: OnexError;
  attempts: number;
  groupId: string;
  failedAt?: Date;
}

export function truncateReason(text: string): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= MAX_REASON_BYTES) return text;
  // Cut on a character boundary: decoding a cut multi-byte sequence would end in U+FFFD.
  let s = bytes.subarray(0, MAX_REASON_BYTES - 3).toString('utf8');
  if (s.endsWith('\uFFFD')) s = s.slice(0, -1);
  return `${s}...`;
}

/** The record to write to the dead-letter topic for a source record that failed for good. */
export function buildDeadLetter(source: SourceRecord, failure: DeadLetterFailure): Message {
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(source.headers ?? {})) {
    // A redriven record that failed again: its previous failure headers are replaced, its redrive count kept.
    if (name.startsWith(DLQ_PREFIX) && name !== DLQ_HEADERS.redrives) continue;
    if (value !== undefined) headers[name] = value;
  }
  headers[DLQ_HEADERS.errorCode] = failure.error.code;
  headers[DLQ_HEADERS.reason] = truncateReason(failure.error.message);
  headers[DLQ_HEADERS.sourceTopic] = source.topic;
  headers[DLQ_HEADERS.sourcePartition] = String(source.partition);
  headers[DLQ_HEADERS.sourceOffset] = source.offset;
  headers[DLQ_HEADERS.attempts] = String(failure.attempts);
  headers[DLQ_HEADERS.failedAt] = (failure.failedAt ?? new Date()).toISOString();
  headers[DLQ_HEADERS.group] = failure.groupId;
  return { key: source.key, value: source.value, headers };
}

export function headerText(headers: IHeaders | undefined, name: string): string | undefined {
  const v = headers?.[name];
  if (v === undefined) return undefined;
  const first = Array.isArray(v) ? v[0] : v;
  return first === undefined ? undefined : Buffer.isBuffer(first) ? first.toString('utf8') : String(first);
}

/** What the dead-letter headers of a record say; undefined fields were absent. */
export interface DeadLetterInfo {
  errorCode: string | undefined;
  reason: string | undefined;
  sourceTopic: string | undefined;
  sourcePartition: number | undefined;
  sourceOffset: string | undefined;
  attempts: number | undefined;
  failedAt: string | undefined;
  group: string | undefined;
  redrives: number;
}

export function readDeadLetterHeaders(headers: IHeaders | undefined): DeadLetterInfo {
  const num = (name: string) => {
    const t = headerText(headers, name);
    return t === undefined || t === '' || !Number.isFinite(Number(t)) ? undefined : Number(t);
  };
  return {
    errorCode: headerText(headers, DLQ_HEADERS.errorCode),
    reason: headerText(headers, DLQ_HEADERS.reason),
    sourceTopic: headerText(headers, DLQ_HEADERS.sourceTopic),
    sourcePartition: num(DLQ_HEADERS.sourcePartition),
    sourceOffset: headerText(headers, DLQ_HEADERS.sourceOffset),
    attempts: num(DLQ_HEADERS.attempts),
    failedAt: headerText(headers, DLQ_HEADERS.failedAt),
    group: headerText(headers, DLQ_HEADERS.group),
    redrives: num(DLQ_HEADERS.redrives) ?? 0,
  };
}

/**
 * The record `redrive` publishes back to the source topic: the original key, value and headers, without the failure
 * headers (the record is new again) but with the redrive count raised by one.
 */
export function buildRedriveRecord(dead: { key: Buffer | null; value: Buffer | null; headers?: IHeaders }): Message {
  const info = readDeadLetterHeaders(dead.headers);
  const headers: IHeaders = {};
  for (const [name, value] of Object.entries(dead.headers ?? {})) {
    if (name.startsWith(DLQ_PREFIX) || value === undefined) continue;
    headers[name] = value;
  }
  headers[DLQ_HEADERS.redrives] = String(info.redrives + 1);
  return { key: dead.key, value: dead.value, headers };
}

/** The default dead-letter topic of a source topic: onex.events -> onex.events.dlq. */
export function defaultDeadLetterTopic(sourceTopic: string): string {
  return `${sourceTopic}.dlq`;
}
