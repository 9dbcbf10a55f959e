import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { logger } from '../logging/index.js';
import { RegistryHttpError, httpErrors } from './http-errors.js';
import { createRegistryMetrics } from './metrics.js';
import { addHealthRoutes, Health } from '../health/index.js';
import type { CheckResult } from '../health/types.js';
import { RegistryService, type SchemaBody } from './service.js';
import type { RegistryStore } from './store.js';
import type { BasicAuthOptions } from './types.js';

/** The content type Confluent's server answers with, and the request types it accepts. */
export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const ACCEPTED_REQUEST_TYPES = new Set([
  'application/vnd.schemaregistry.v1+json',
  'application/vnd.schemaregistry+json',
  'application/json',
  'application/octet-stream',
]);

export interface RegistryServerOptions {
  store: RegistryStore;
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
  bodyLimit?: number;
  auth?: BasicAuthOptions;
  /** Serve HTTPS with this certificate (chain) and private key, PEM; the URL listen() returns is then https. */
  tls?: { cert: string; key: string };
  /** Served at /healthz and /readyz (no credentials needed: probes). Default: one with the store's checks. */
  health?: Health;
}

export interface RegistryServer {
  app: FastifyInstance;
  service: RegistryService;
  health: Health;
  /** Starts the store (rebuilding state), then listens. Returns the base URL. */
  listen(port: number, host?: string): Promise<string>;
  close(): Promise<void>;
}

const PROBE_PATHS = new Set(['/healthz', '/readyz']);

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

type Params = { subject: string; version: string; id: string };
type Query = Record<string, string | undefined>;
type Req = FastifyRequest<{ Params: Params; Querystring: Query; Body: unknown }>;

function flag(value: string | undefined): boolean {
  return value !== undefined && value.toLowerCase() === 'true';
}

function intParam(value: string | undefined): number | undefined {
  if (value === undefined || !/^-?\d+$/.test(value)) return undefined;
  return Number(value);
}

function firstValues(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) if (!Object.hasOwn(out, key)) out[key] = value;
  return out;
}

/** Bodies go out as bytes: fastify would append `; charset=utf-8` to a string body, and Confluent sends none. */
function send(reply: FastifyReply, body: unknown): FastifyReply {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return reply.header('content-type', SCHEMA_REGISTRY_CONTENT_TYPE).send(Buffer.from(text, 'utf8'));
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function authorised(auth: BasicAuthOptions, header: string | undefined): boolean {
  if (!header || !/^basic /i.test(header)) return false;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const password = auth.users[decoded.slice(0, colon)];
  // Compare even for an unknown user so that the answer takes as long either way.
  return sameSecret(password ?? '\u0000', decoded.slice(colon + 1)) && password !== undefined;
}

/** The Confluent-compatible REST server over a store. */
export function createRegistryServer(options: RegistryServerOptions): RegistryServer {
  const log = logger('registry');
  const store = options.store;
  const service = new RegistryService(store);
  let started = false;
  const health = options.health ?? new Health();
  health.add('store', () => (started ? (store.readiness?.() ?? { ok: true }) : { ok: false, detail: 'rebuilding the state' }));
  const metrics = createRegistryMetrics(() => store.state);
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    ...(options.tls ? { https: { cert: options.tls.cert, key: options.tls.key } } : {}),
    logger: false,
    bodyLimit,
    // A parameter given twice (`?deleted=true&deleted=false`) counts once, by its first value, as Confluent's
    // Jersey @QueryParam reads it; the default parser would hand the routes an array.
    routerOptions: { ignoreTrailingSlash: true, querystringParser: firstValues },
    return503OnClosing: true,
    // Errors fastify raises before routing (a malformed percent-encoding in the URL): same error body as the rest.
    frameworkErrors: (err, _request, reply) => {
      const status = typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 400;
      send((reply as FastifyReply).code(status), new RegistryHttpError(status, status, err.message).toBody());
    },
  });

  // Bodies: JSON under any of Confluent's accepted media types (or none at all, as curl users send); others get 415.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (request, body, done) => {
    const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== '' && !ACCEPTED_REQUEST_TYPES.has(type)) return done(httpErrors.unsupportedMediaType(), undefined);
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') return done(null, null);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(httpErrors.badRequest(`Unexpected character in request body: ${(err as Error).message}`), undefined);
    }
  });

  if (options.auth) {
    const auth = options.auth;
    const realm = auth.realm ?? 'onex-schema-registry';
    app.addHook('onRequest', async (request, reply) => {
      const isRead = request.method === 'GET' || request.method === 'HEAD';
      // Orchestrator probes carry no credentials; the answers name no schema.
      if (isRead && PROBE_PATHS.has(request.url.split('?')[0]!)) return;
      if (auth.scope === 'writes' && isRead) return;
      if (authorised(auth, request.headers.authorization)) return;
      reply.header('WWW-Authenticate', `Basic realm="${realm}"`);
      return send(reply.code(401), httpErrors.unauthorized().toBody());
    });
  }

  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.observe(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });

  // A path we serve, asked with a method we do not serve there, is 405 (as Confluent's Jersey answers), not 404.
  const routePatterns: RegExp[] = [];
  app.addHook('onRoute', (route) => {
    routePatterns.push(new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}/?$`));
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    const known = routePatterns.some((p) => p.test(path));
    const answer = known ? httpErrors.methodNotAllowed() : httpErrors.routeNotFound();
    return send(reply.code(answer.status), answer.toBody());
  });

  app.setErrorHandler((err: Error & { code?: string; statusCode?: number }, request, reply) => {
    let answer: RegistryHttpError;
    if (err instanceof RegistryHttpError) answer = err;
    else if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') answer = httpErrors.bodyTooLarge(bodyLimit);
    else if (err.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') answer = httpErrors.unsupportedMediaType();
    else if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      answer = new RegistryHttpError(err.statusCode, err.statusCode, err.message);
    } else {
      log.error({ err, method: request.method, url: request.url }, 'registry request failed');
      answer = httpErrors.store(`Error in the backend data store: ${err.message}`);
    }
    return send(reply.code(answer.status), answer.toBody());
  });

  // ---- routes -------------------------------------------------------------------------------------------------
  const r = app;
  addHealthRoutes(r, health);
  r.get('/', async (_q, reply) => send(reply, {}));
  r.get('/metrics', async (_q, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
  r.get('/contexts', async (_q, reply) => send(reply, ['.']));

  r.get('/schemas/types', async (_q, reply) => send(reply, service.schemaTypes()));
  r.get('/schemas', async (q: Req, reply) =>
    send(
      reply,
      service.listSchemas({
        subjectPrefix: q.query.subjectPrefix,
        deleted: flag(q.query.deleted),
        latestOnly: flag(q.query.latestOnly),
        offset: intParam(q.query.offset),
        limit: intParam(q.query.limit),
      }),
    ),
  );
  r.get('/schemas/ids/:id', async (q: Req, reply) => send(reply, await service.schemaByIdBody(service.parseId(q.params.id))));
  r.get('/schemas/ids/:id/schema', async (q: Req, reply) => send(reply, await service.rawSchemaById(service.parseId(q.params.id))));
  r.get('/schemas/ids/:id/subjects', async (q: Req, reply) =>
    send(reply, await service.subjectsById(service.parseId(q.params.id), flag(q.query.deleted))),
  );
  r.get('/schemas/ids/:id/versions', async (q: Req, reply) =>
    send(reply, await service.subjectVersionsById(service.parseId(q.params.id), flag(q.query.deleted))),
  );

  r.get('/subjects', async (q: Req, reply) =>
    send(
      reply,
      service.listSubjects({
        deleted: flag(q.query.deleted),
        deletedOnly: flag(q.query.deletedOnly),
        subjectPrefix: q.query.subjectPrefix,
      }),
    ),
  );
  r.post('/subjects/:subject', async (q: Req, reply) =>
    send(reply, service.lookup(q.params.subject, q.body as SchemaBody, flag(q.query.deleted))),
  );
  r.delete('/subjects/:subject', async (q: Req, reply) =>
    send(reply, await service.deleteSubject(q.params.subject, flag(q.query.permanent))),
  );
  r.get('/subjects/:subject/versions', async (q: Req, reply) =>
    send(reply, service.listVersions(q.params.subject, flag(q.query.deleted))),
  );
  r.post('/subjects/:subject/versions', async (q: Req, reply) =>
    send(reply, await service.register(q.params.subject, q.body as SchemaBody)),
  );
  r.get('/subjects/:subject/versions/:version', async (q: Req, reply) =>
    send(reply, service.getVersion(q.params.subject, q.params.version, flag(q.query.deleted))),
  );
  r.get('/subjects/:subject/versions/:version/schema', async (q: Req, reply) =>
    send(reply, service.getVersion(q.params.subject, q.params.version, flag(q.query.deleted)).schema),
  );
  r.get('/subjects/:subject/versions/:version/referencedby', async (q: Req, reply) =>
    send(reply, service.referencedBy(q.params.subject, q.params.version)),
  );
  r.delete('/subjects/:subject/versions/:version', async (q: Req, reply) =>
    send(reply, await service.deleteVersion(q.params.subject, q.params.version, flag(q.query.permanent))),
  );

  r.post('/compatibility/subjects/:subject/versions/:version', async (q: Req, reply) =>
    send(reply, service.testCompatibility(q.params.subject, q.params.version, q.body as SchemaBody, flag(q.query.verbose))),
  );
  r.post('/compatibility/subjects/:subject/versions', async (q: Req, reply) =>
    send(reply, service.testCompatibility(q.params.subject, undefined, q.body as SchemaBody, flag(q.query.verbose))),
  );

  // Compatibility level and mode: the same six routes each, global and per subject.
  const settings = [
    { path: '/config', get: service.getConfig, set: service.setConfig, reset: service.deleteConfig },
    { path: '/mode', get: service.getMode, set: service.setMode, reset: service.deleteMode },
  ] as const;
  for (const setting of settings) {
    const get = setting.get.bind(service);
    const set = setting.set.bind(service);
    const reset = setting.reset.bind(service);
    r.get(setting.path, async (_q, reply) => send(reply, get(null)));
    r.put(setting.path, async (q: Req, reply) => send(reply, await set(null, q.body)));
    r.delete(setting.path, async (_q, reply) => send(reply, await reset(null)));
    r.get(`${setting.path}/:subject`, async (q: Req, reply) => send(reply, get(q.params.subject, flag(q.query.defaultToGlobal))));
    r.put(`${setting.path}/:subject`, async (q: Req, reply) => send(reply, await set(q.params.subject, q.body)));
    r.delete(`${setting.path}/:subject`, async (q: Req, reply) => send(reply, await reset(q.params.subject)));
  }

  return {
    app,
    service,
    health,
    async listen(port: number, host = '127.0.0.1') {
      if (!started) {
        await store.start();
        started = true;
      }
      await app.listen({ port, host });
      const address = app.server.address();
      const actualPort = typeof address === 'object' && address ? address.port : port;
      return `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
    },
    async close() {
      health.drain();
      await app.close();
      await store.close();
    },
  };
}
