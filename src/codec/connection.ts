/**
 * The connection options the producer and the worker share, so both sides are configured the same way:
 *
 *   kafka:    a kafkajs client (createKafka), or { brokers, ssl, sasl, clientId, ... } to make one with
 *   registry: a URL, { url, auth }, or a client (anything with register(subject, schema) and getSchema(id))
 *
 * and the environment both read in fromEnv(), which is the one the CLI reads: KAFKA_BROKERS and the ONEX_KAFKA_*
 * variables of kafkaConfigFromEnv, SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO ("user:password",
 * as Confluent's clients call it) and SCHEMA_REGISTRY_SSL_CA_LOCATION (the CA file of an https registry). Everything is checked once, at construction, into ONEX_RT_407 naming the option
 * as the caller wrote it ("invalid worker option kafka.brokers.0: ...").
 */
import { readFileSync } from 'node:fs';
import type { Kafka } from 'kafkajs';
import { z } from 'zod';
import { invalidOptions, onexError } from '../errors/index.js';
import { kafkaConfigFromEnv, kafkaConfigSchema, splitBrokers, type KafkaConfig, type KafkaConfigInput } from '../kafka/index.js';
import { registryFromUrl } from './event-codec.js';
import type { SchemaRegistryLike } from './types.js';

/** A kafkajs client, or the configuration to make one with (brokers may be one comma-separated string). */
export type KafkaOption = Kafka | KafkaConfigInput | (Omit<KafkaConfigInput, 'brokers'> & { brokers: string });

/** Basic auth of a schema registry. */
export interface RegistryAuth {
  username: string;
  password: string;
}

/** TLS of an https registry: the CA (PEM) to trust instead of the system's; a client certificate and key for mTLS. */
export interface RegistryTls {
  ca?: string;
  cert?: string;
  key?: string;
}

/** A registry URL, a URL with its basic auth and TLS, or a client. */
export type RegistryOption = string | { url: string; auth?: RegistryAuth; tls?: RegistryTls } | SchemaRegistryLike;

/** What fromEnv() found: the CLI's environment variables, parsed. */
export interface EnvConnection {
  kafka: KafkaConfig;
  /** Undefined when SCHEMA_REGISTRY_URL is not set. */
  registry?: { url: string; auth?: RegistryAuth; tls?: RegistryTls };
}

/** A kafkajs client (or a stand-in with its producer() or consumer()), as opposed to a configuration. */
export function isKafkaClient(k: unknown): k is Kafka {
  return typeof k === 'object' && k !== null && (typeof (k as Kafka).consumer === 'function' || typeof (k as Kafka).producer === 'function');
}

function isRegistryClient(r: unknown): r is SchemaRegistryLike {
  return typeof r === 'object' && r !== null && typeof (r as SchemaRegistryLike).register === 'function' && typeof (r as SchemaRegistryLike).getSchema === 'function';
}

/** `who` is 'producer' or 'worker': the message says "invalid <who> option kafka...". */
export function resolveKafkaOption(option: unknown, who: string): Kafka | KafkaConfig {
  if (isKafkaClient(option)) return option;
  if (typeof option !== 'object' || option === null) {
    throw onexError('ONEX_RT_407', `invalid ${who} option kafka: pass a client from createKafka() or { brokers: 'host:port,...', ssl, sasl, clientId }`);
  }
  const input = option as { brokers?: unknown };
  const brokers = typeof input.brokers === 'string' ? splitBrokers(input.brokers) : input.brokers;
  const parsed = kafkaConfigSchema.safeParse({ ...input, brokers });
  if (!parsed.success) {
    throw invalidOptions(`invalid ${who} option`, 'kafka', parsed.error.issues.map((i) => ({ ...i, path: ['kafka', ...i.path] })));
  }
  return parsed.data;
}

const registryUrl = z.url({ protocol: /^https?$/, error: 'a registry URL is http(s)://host:port' });
const registryObject = z.strictObject({
  url: registryUrl,
  auth: z.object({ username: z.string().min(1), password: z.string() }).optional(),
  tls: z.strictObject({ ca: z.string().optional(), cert: z.string().optional(), key: z.string().optional() }).optional(),
});

/** The registry a default codec talks to. */
export function resolveRegistryOption(option: unknown, who: string): SchemaRegistryLike {
  if (isRegistryClient(option)) return option;
  const parsed = typeof option === 'string' ? registryUrl.safeParse(option) : registryObject.safeParse(option);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => ({ ...i, path: ['registry', ...i.path] }));
    if (typeof option !== 'string' && (typeof option !== 'object' || option === null)) {
      throw onexError('ONEX_RT_407', `invalid ${who} option registry: pass a URL, { url, auth: { username, password } } or a client with register() and getSchema()`);
    }
    throw invalidOptions(`invalid ${who} option`, 'registry', issues);
  }
  const value = parsed.data;
  return typeof value === 'string'
    ? registryFromUrl(value)
    : registryFromUrl(value.url, { ...(value.auth ? { auth: value.auth } : {}), ...(value.tls ? { tls: value.tls } : {}) });
}

/**
 * SCHEMA_REGISTRY_URL, SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO and SCHEMA_REGISTRY_SSL_CA_LOCATION (the CA file to trust
 * for an https registry, Confluent's schema.registry.ssl.ca.location), as the registry option.
 */
export function registryFromEnv(
  env: NodeJS.ProcessEnv = process.env,
  url = env.SCHEMA_REGISTRY_URL,
): { url: string; auth?: RegistryAuth; tls?: RegistryTls } | undefined {
  if (!url) return undefined;
  const caFile = env.SCHEMA_REGISTRY_SSL_CA_LOCATION;
  let tls: RegistryTls | undefined;
  if (caFile) {
    try {
      tls = { ca: readFileSync(caFile, 'utf8') };
    } catch (cause) {
      throw onexError('ONEX_RT_407', `SCHEMA_REGISTRY_SSL_CA_LOCATION names ${caFile}, which cannot be read`, { cause });
    }
  }
  const info = env.SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO;
  if (!info) return tls ? { url, tls } : { url };
  const colon = info.indexOf(':');
  if (colon <= 0) throw onexError('ONEX_RT_407', 'SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO is user:password');
  return { url, auth: { username: info.slice(0, colon), password: info.slice(colon + 1) }, ...(tls ? { tls } : {}) };
}

/** The connection the CLI would use: Kafka from KAFKA_BROKERS / ONEX_KAFKA_*, the registry from SCHEMA_REGISTRY_*. */
export function connectionFromEnv(env: NodeJS.ProcessEnv = process.env, clientId?: string): EnvConnection {
  const kafka = kafkaConfigFromEnv(env, clientId && !env.ONEX_KAFKA_CLIENT_ID ? { clientId } : {});
  const registry = registryFromEnv(env);
  return registry ? { kafka, registry } : { kafka };
}
