import type avro from 'avsc';
import { Agent, fetch as undiciFetch } from 'undici';
import { onexError, type OnexError } from '../errors/index.js';
import { BACKOFFS, backoffDelay, sleep, type Backoff } from '../retry/index.js';
import { parseAvro } from './avro.js';
import type { CompatibilityLevel, SchemaReference } from './state.js';
import type { CompatibilityAnswer, RegisteredSchema, SchemaInput, SubjectVersionInfo } from './types.js';
import { readWireFormat, writeWireFormat } from './wire-format.js';

/**
 * The registry client the producer and worker use, against our server or any Confluent-compatible one.
 *
 * Caches what never changes once known: schema id -> schema (ids are immutable), (subject, schema) -> id, and
 * (writer id, reader schema) -> resolver. Concurrent misses for one id share one request. Server errors (5xx) and
 * network failures are retried with exponential backoff and jitter; 4xx answers are final. Every failure is an
 * OnexError: ONEX_REG_206 unreachable (retriable), ONEX_REG_207 incompatible, ONEX_REG_200 not found,
 * ONEX_REG_208 any other refusal; decoding adds ONEX_EVENT_604 (not Confluent wire format) and ONEX_EVENT_605
 * (schema id unknown to the registry).
 */

export interface RegistryClientOptions {
  /** Base URL, e.g. http://127.0.0.1:8081 (SCHEMA_REGISTRY_URL). */
  url: string;
  auth?: { username: string; password: string };
  /**
   * TLS of an https registry: `ca` the CA certificate(s) (PEM) to trust instead of the system's (a private or
   * test CA; SCHEMA_REGISTRY_SSL_CA_LOCATION names its file), `cert` / `key` a client certificate for mutual TLS.
   */
  tls?: { ca?: string; cert?: string; key?: string };
  /** Per request (default 10 s). */
  timeoutMs?: number;
  /** Retries of 5xx and network failures (default 3). */
  retries?: number;
  /** First backoff (default 100 ms), doubled each retry up to maxBackoffMs (default 2 s), shortened by up to half at random (src/retry). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Node's code for a peer certificate that failed verification, from fetch's error or its cause. */
function tlsRefusal(err: unknown): string | undefined {
  let e: unknown = err;
  for (let i = 0; i < 4 && e && typeof e === 'object'; i++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

function schemaText(schema: SchemaInput): string {
  return typeof schema === 'string' ? schema : JSON.stringify(schema);
}

export class RegistryClient {
  readonly url: string;
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly backoff: Backoff;
  private readonly authHeader: string | undefined;
  /** fetch, or undici's own fetch through an agent that trusts the given CA when `tls` is set. */
  private readonly send: (url: string, init: RequestInit) => Promise<Response>;
  private readonly byId = new Map<number, RegisteredSchema>();
  private readonly pendingById = new Map<number, Promise<RegisteredSchema>>();
  private readonly idBySubjectSchema = new Map<string, number>();
  private readonly resolvers = new Map<string, avro.Resolver>();

  constructor(options: RegistryClientOptions) {
    let parsed: URL;
    try {
      parsed = new URL(options.url);
    } catch {
      throw onexError('ONEX_CLI_303', `the schema registry URL ${JSON.stringify(options.url)} is not a URL`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw onexError('ONEX_CLI_303', `the schema registry URL must be http or https, not ${parsed.protocol}`);
    }
    this.url = options.url.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 3;
    this.backoff = {
      ...BACKOFFS.registryClient,
      initialMs: options.backoffMs ?? BACKOFFS.registryClient.initialMs,
      maxMs: options.maxBackoffMs ?? BACKOFFS.registryClient.maxMs,
    };
    this.authHeader = options.auth
      ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
      : undefined;
    const tls = options.tls;
    if (tls && (tls.ca || tls.cert || tls.key)) {
      const dispatcher = new Agent({ connect: { ca: tls.ca, cert: tls.cert, key: tls.key } });
      this.send = (url, init) => undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher }) as unknown as Promise<Response>;
    } else {
      this.send = (url, init) => fetch(url, init);
    }
  }

  // ---- HTTP ------------------------------------------------------------------------------------------------------

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
    if (body !== undefined) headers['content-type'] = 'application/vnd.schemaregistry.v1+json';
    if (this.authHeader) headers.authorization = this.authHeader;
    let lastFailure = '';
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0) {
        await sleep(backoffDelay(this.backoff, attempt));
      }
      let res: Response;
      try {
        res = await this.send(`${this.url}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (err) {
        const untrusted = tlsRefusal(err);
        if (untrusted) {
          // A certificate this client does not trust stays untrusted: no retry, one line that says what to give.
          throw onexError('ONEX_EVENT_635', `schema registry at ${this.url} presented a TLS certificate this client does not trust (${untrusted}): give the CA that signed it (registry tls.ca, SCHEMA_REGISTRY_SSL_CA_LOCATION)`, { cause: err });
        }
        lastFailure = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : (err as Error).message;
        continue;
      }
      const text = await res.text();
      let data: unknown;
      try {
        data = text === '' ? undefined : JSON.parse(text);
      } catch {
        data = text;
      }
      if (res.ok) return data as T;
      const { error_code: errorCode, message } = (data ?? {}) as { error_code?: number; message?: string };
      if (res.status >= 500) {
        lastFailure = `HTTP ${res.status}${errorCode ? ` (error_code ${errorCode})` : ''}: ${message ?? text}`;
        continue;
      }
      throw this.refusal(method, path, res.status, errorCode, message ?? text);
    }
    throw onexError(
      'ONEX_REG_206',
      `schema registry at ${this.url} did not answer ${method} ${path} after ${this.retries + 1} attempts: ${lastFailure}`,
      { details: { url: this.url, method, path, attempts: this.retries + 1 } },
    );
  }

  private refusal(method: string, path: string, status: number, errorCode: number | undefined, message: string): OnexError {
    const details = { url: this.url, method, path, status, errorCode };
    const what = `schema registry refused ${method} ${path} (HTTP ${status}, error_code ${errorCode ?? status}): ${message}`;
    if (status === 409) return onexError('ONEX_REG_207', what, { details });
    if (status === 404) return onexError('ONEX_REG_200', what, { details });
    return onexError('ONEX_REG_208', what, { details });
  }

  private static subjectPath(subject: string): string {
    return `/subjects/${encodeURIComponent(subject)}`;
  }

  // ---- schemas ---------------------------------------------------------------------------------------------------

  /** Registers (or finds) the schema under the subject and returns its id; cached per subject and canonical form. */
  async register(subject: string, schema: SchemaInput, options: { references?: SchemaReference[] } = {}): Promise<number> {
    const text = schemaText(schema);
    const key = this.cacheKey(subject, text, options.references);
    const cached = this.idBySubjectSchema.get(key);
    if (cached !== undefined) return cached;
    const body = { schema: text, ...(options.references?.length ? { references: options.references } : {}) };
    const { id } = await this.request<{ id: number }>('POST', `${RegistryClient.subjectPath(subject)}/versions`, body);
    this.idBySubjectSchema.set(key, id);
    return id;
  }

  /** The id of a schema already registered under the subject (ONEX_REG_200 when it is not); cached. */
  async lookup(subject: string, schema: SchemaInput): Promise<SubjectVersionInfo> {
    const text = schemaText(schema);
    const info = await this.request<SubjectVersionInfo>('POST', RegistryClient.subjectPath(subject), { schema: text });
    this.idBySubjectSchema.set(this.cacheKey(subject, text), info.id);
    return info;
  }

  private cacheKey(subject: string, text: string, references: SchemaReference[] = []): string {
    let canonical = text;
    try {
      canonical = references.length ? text : parseAvro(text).canonical;
    } catch {
      // Not valid Avro here: the registry will say why; cache under the text itself.
    }
    return `${subject}\u0000${canonical}\u0000${JSON.stringify(references)}`;
  }

  /** The schema of an id, parsed; fetched once per id for the life of the client. */
  async getSchema(id: number): Promise<RegisteredSchema> {
    const cached = this.byId.get(id);
    if (cached) return cached;
    const pending = this.pendingById.get(id);
    if (pending) return pending;
    const request = this.fetchSchema(id).finally(() => this.pendingById.delete(id));
    this.pendingById.set(id, request);
    return request;
  }

  private async fetchSchema(id: number): Promise<RegisteredSchema> {
    const data = await this.request<{ schema: string; schemaType?: string; references?: SchemaReference[] }>(
      'GET',
      `/schemas/ids/${id}`,
    );
    if (data.schemaType && data.schemaType !== 'AVRO') {
      throw onexError('ONEX_REG_208', `schema ${id} is ${data.schemaType}; this client reads Avro only`, { details: { id } });
    }
    const references = data.references ?? [];
    const resolved = [];
    for (const ref of references) {
      const info = await this.getVersion(ref.subject, ref.version);
      resolved.push({ name: ref.name, schema: info.schema });
    }
    const { type } = parseAvro(data.schema, resolved);
    const entry: RegisteredSchema = { id, schema: data.schema, references, type };
    this.byId.set(id, entry);
    return entry;
  }

  async getVersion(subject: string, version: number | 'latest'): Promise<SubjectVersionInfo> {
    return this.request<SubjectVersionInfo>('GET', `${RegistryClient.subjectPath(subject)}/versions/${version}`);
  }

  /** The newest version of a subject; never cached, since it changes. */
  async getLatest(subject: string): Promise<SubjectVersionInfo> {
    return this.getVersion(subject, 'latest');
  }

  async listSubjects(): Promise<string[]> {
    return this.request<string[]>('GET', '/subjects');
  }

  async listVersions(subject: string): Promise<number[]> {
    return this.request<number[]>('GET', `${RegistryClient.subjectPath(subject)}/versions`);
  }

  async deleteSubject(subject: string, permanent = false): Promise<number[]> {
    return this.request<number[]>('DELETE', `${RegistryClient.subjectPath(subject)}${permanent ? '?permanent=true' : ''}`);
  }

  // ---- compatibility ---------------------------------------------------------------------------------------------

  async testCompatibility(subject: string, schema: SchemaInput, version: number | 'latest' = 'latest'): Promise<CompatibilityAnswer> {
    const data = await this.request<{ is_compatible: boolean; messages?: string[] }>(
      'POST',
      `/compatibility${RegistryClient.subjectPath(subject)}/versions/${version}?verbose=true`,
      { schema: schemaText(schema) },
    );
    return { compatible: data.is_compatible, messages: data.messages ?? [] };
  }

  /** The level in force for a subject (its own, else the global one), or the global level without a subject. */
  async getCompatibility(subject?: string): Promise<CompatibilityLevel> {
    const path = subject === undefined ? '/config' : `/config/${encodeURIComponent(subject)}?defaultToGlobal=true`;
    return (await this.request<{ compatibilityLevel: CompatibilityLevel }>('GET', path)).compatibilityLevel;
  }

  async setCompatibility(level: CompatibilityLevel, subject?: string): Promise<void> {
    const path = subject === undefined ? '/config' : `/config/${encodeURIComponent(subject)}`;
    await this.request('PUT', path, { compatibility: level });
  }

  // ---- wire format -----------------------------------------------------------------------------------------------

  /** Confluent wire format: magic byte 0, big-endian int32 schema id, Avro binary body. */
  async encode(id: number, value: unknown): Promise<Buffer> {
    const { type } = await this.getSchema(id);
    let body: Buffer;
    try {
      body = type.toBuffer(value);
    } catch (err) {
      throw onexError('ONEX_EVENT_603', `value does not match schema ${id}: ${(err as Error).message}`, { cause: err });
    }
    return writeWireFormat(id, body);
  }

  /** Reads a Confluent-framed message; with a reader type, resolves the writer's schema to it (cached resolver). */
  async decode(message: Buffer, readerType?: avro.Type): Promise<{ schemaId: number; value: unknown }> {
    const { schemaId, body } = readWireFormat(message);
    let writer: RegisteredSchema;
    try {
      writer = await this.getSchema(schemaId);
    } catch (err) {
      if ((err as OnexError).code === 'ONEX_REG_200') {
        throw onexError('ONEX_EVENT_605', `schema id ${schemaId} is unknown to the registry at ${this.url}`, { cause: err });
      }
      throw err;
    }
    const resolver = readerType ? this.resolver(writer, readerType) : undefined;
    try {
      if (!readerType) return { schemaId, value: writer.type.fromBuffer(body) };
      return { schemaId, value: readerType.fromBuffer(body, resolver) };
    } catch (err) {
      throw onexError('ONEX_EVENT_604', `message body does not decode with schema ${schemaId}: ${(err as Error).message}`, { cause: err });
    }
  }

  private resolver(writer: RegisteredSchema, reader: avro.Type): avro.Resolver {
    const key = `${writer.id}\u0000${reader.fingerprint().toString('hex')}`;
    let resolver = this.resolvers.get(key);
    if (!resolver) {
      try {
        resolver = reader.createResolver(writer.type);
      } catch (err) {
        throw onexError('ONEX_SCHEMA_701', `the reader schema cannot read data written with schema ${writer.id}: ${(err as Error).message}`, { cause: err });
      }
      this.resolvers.set(key, resolver);
    }
    return resolver;
  }
}
