import type { Kafka } from 'kafkajs';
import type { Registry } from 'prom-client';
import { z } from 'zod';
import type { EventDecoder, OnexEventCodec } from '../codec/index.js';
import { invalidOptions } from '../errors/index.js';
import { CORRELATIONS_TOPIC } from '../processors/correlation/index.js';

export interface InspectServerOptions {
  kafka: Kafka;
  /** Decodes the events the page shows; a codec (which also encodes) is needed for replays. */
  decoder: EventDecoder | OnexEventCodec;
  /** The events topic (default onex.events). */
  topic?: string;
  /** The correlation index (default onex.correlations). */
  indexTopic?: string;
  /** The index processor's group: events it has not indexed yet are read too (default none: only what it indexed). */
  indexGroup?: string;
  /** Where POST /api/replays writes unless the request names a topic (default `<topic>.replay`). */
  replayTopic?: string;
  /** Default 127.0.0.1 and 8088; port 0 picks a free one. */
  host?: string;
  port?: number;
  /** Where onex_inspect_* go and what /metrics serves (default prom-client's global registry). */
  metricsRegistry?: Registry;
}

export const INSPECT_DEFAULTS = { topic: 'onex.events', indexTopic: CORRELATIONS_TOPIC, host: '127.0.0.1', port: 8088 };

const schema = z.object({
  topic: z.string().min(1),
  indexTopic: z.string().min(1),
  replayTopic: z.string().min(1),
  host: z.string().min(1),
  port: z.number().int().min(0).max(65_535),
});

export type ResolvedInspectOptions = InspectServerOptions & z.infer<typeof schema>;

export function resolveInspectOptions(o: InspectServerOptions): ResolvedInspectOptions {
  const topic = o.topic ?? INSPECT_DEFAULTS.topic;
  const merged = { ...INSPECT_DEFAULTS, ...stripUndefined(o), topic, replayTopic: o.replayTopic ?? `${topic}.replay` };
  const r = schema.safeParse(merged);
  if (!r.success) throw invalidOptions('invalid inspect server option', 'options', r.error.issues);
  return { ...o, ...r.data };
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
