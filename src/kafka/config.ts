import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { invalidOptions, onexError } from '../errors/index.js';

const brokerAddress = z
  .string()
  .trim()
  .regex(/^[^\s:,]+:\d{1,5}$/, 'a broker address is host:port, e.g. 127.0.0.1:9092');

const saslSchema = z.discriminatedUnion('mechanism', [
  z.object({ mechanism: z.literal('plain'), username: z.string().min(1), password: z.string() }),
  z.object({ mechanism: z.literal('scram-sha-256'), username: z.string().min(1), password: z.string() }),
  z.object({ mechanism: z.literal('scram-sha-512'), username: z.string().min(1), password: z.string() }),
]);

const tlsSchema = z.union([
  z.boolean(),
  z.object({
    ca: z.string().optional(),
    cert: z.string().optional(),
    key: z.string().optional(),
    rejectUnauthorized: z.boolean().default(true),
    servername: z.string().optional(),
  }),
]);

export const kafkaConfigSchema = z.object({
  brokers: z.array(brokerAddress).min(1, 'at least one broker address is needed'),
  clientId: z.string().min(1).default('onex-events'),
  /** TLS: true for the system CAs, or PEM strings. */
  ssl: tlsSchema.default(false),
  sasl: saslSchema.optional(),
  connectionTimeoutMs: z.number().int().positive().default(3_000),
  requestTimeoutMs: z.number().int().positive().default(30_000),
  /** How long client start-up keeps retrying an unreachable cluster before it fails with ONEX_EVENT_600. */
  retry: z
    .object({
      retries: z.number().int().min(0).default(8),
      initialRetryTimeMs: z.number().int().positive().default(300),
      maxRetryTimeMs: z.number().int().positive().default(30_000),
    })
    .prefault({}),
});

export type KafkaConfigInput = z.input<typeof kafkaConfigSchema>;
export type KafkaConfig = z.output<typeof kafkaConfigSchema>;

/** Validates once, at construction, into ONEX_RT_407 naming the first bad option. */
export function parseKafkaConfig(input: KafkaConfigInput | (Omit<KafkaConfigInput, 'brokers'> & { brokers: string | string[] })): KafkaConfig {
  const brokers = typeof input.brokers === 'string' ? splitBrokers(input.brokers) : input.brokers;
  const result = kafkaConfigSchema.safeParse({ ...input, brokers });
  if (!result.success) throw invalidOptions('invalid Kafka configuration at', 'kafka config', result.error.issues);
  return result.data;
}

/**
 * Process-wide kafkajs settings that only the environment sets (they are for an operator debugging a process, not
 * options of one client): ONEX_KAFKAJS_LOG=debug passes kafkajs's own debug lines to our logger.
 */
export function kafkajsDebugLog(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.ONEX_KAFKAJS_LOG === 'debug';
}

/**
 * kafkajs prints a one-time notice about its v2 partitioner change to every process unless its environment variable
 * says not to; our producers choose their partitioner explicitly, so the notice only adds noise.
 */
export function silenceKafkajsPartitionerNotice(env: NodeJS.ProcessEnv = process.env): void {
  env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
}

export function splitBrokers(list: string): string[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/**
 * Kafka settings from the environment: KAFKA_BROKERS (comma separated), ONEX_KAFKA_CLIENT_ID,
 * ONEX_KAFKA_SECURITY_PROTOCOL (Kafka's security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL; when set it
 * decides TLS and SASL and is checked against the mechanism), ONEX_KAFKA_SSL (true/false, without a protocol), ONEX_KAFKA_SSL_CA / _CERT / _KEY (PEM file paths), ONEX_KAFKA_SASL_MECHANISM (plain, scram-sha-256,
 * scram-sha-512), ONEX_KAFKA_SASL_USERNAME, ONEX_KAFKA_SASL_PASSWORD. Flags given by the caller win over these.
 */
export function kafkaConfigFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  overrides: Omit<Partial<KafkaConfigInput>, 'brokers'> & { brokers?: string | string[] } = {},
): KafkaConfig {
  const read = (name: string) => {
    const path = env[name];
    if (!path) return undefined;
    try {
      return readFileSync(path, 'utf8');
    } catch (cause) {
      throw onexError('ONEX_RT_407', `${name} names ${path}, which cannot be read`, { cause });
    }
  };
  const protocol = securityProtocol(env.ONEX_KAFKA_SECURITY_PROTOCOL);
  const sslFlag = env.ONEX_KAFKA_SSL?.toLowerCase();
  const ca = read('ONEX_KAFKA_SSL_CA');
  const cert = read('ONEX_KAFKA_SSL_CERT');
  const key = read('ONEX_KAFKA_SSL_KEY');
  const tlsWanted = protocol ? protocol.endsWith('SSL') : sslFlag === 'true' || sslFlag === '1';
  const ssl = ca || cert || key ? (protocol && !tlsWanted ? false : { ca, cert, key }) : tlsWanted;
  const mechanism = env.ONEX_KAFKA_SASL_MECHANISM?.toLowerCase();
  if (protocol?.startsWith('SASL_') && !mechanism) {
    throw onexError('ONEX_RT_407', `ONEX_KAFKA_SECURITY_PROTOCOL=${protocol} needs ONEX_KAFKA_SASL_MECHANISM (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)`);
  }
  if (protocol && !protocol.startsWith('SASL_') && mechanism) {
    throw onexError('ONEX_RT_407', `ONEX_KAFKA_SASL_MECHANISM is set but ONEX_KAFKA_SECURITY_PROTOCOL=${protocol} has no SASL; use SASL_SSL or SASL_PLAINTEXT`);
  }
  const sasl = mechanism
    ? { mechanism, username: env.ONEX_KAFKA_SASL_USERNAME ?? '', password: env.ONEX_KAFKA_SASL_PASSWORD ?? '' }
    : undefined;
  return parseKafkaConfig({
    brokers: overrides.brokers ?? env.KAFKA_BROKERS ?? '127.0.0.1:9092',
    clientId: env.ONEX_KAFKA_CLIENT_ID,
    ssl,
    sasl: sasl as KafkaConfigInput['sasl'],
    ...stripUndefined(overrides),
  } as KafkaConfigInput);
}

const PROTOCOLS = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;

/** Kafka's security.protocol: PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL (any case); undefined when not set. */
function securityProtocol(value: string | undefined): (typeof PROTOCOLS)[number] | undefined {
  if (!value) return undefined;
  const p = value.trim().toUpperCase();
  if (!(PROTOCOLS as readonly string[]).includes(p)) {
    throw onexError('ONEX_RT_407', `ONEX_KAFKA_SECURITY_PROTOCOL=${value} is not one of ${PROTOCOLS.join(', ')} (Kafka's security.protocol)`);
  }
  return p as (typeof PROTOCOLS)[number];
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
