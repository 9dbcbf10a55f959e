import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import client, { Counter, Histogram, type Registry } from 'prom-client';
import { OnexEventCodec } from '../codec/index.js';
import { asOnexError, onexError, type OnexError } from '../errors/index.js';
import { flags } from '../flags/index.js';
import { CorrelationLookup, loadTrace } from '../processors/correlation/index.js';
import { parseSpeed, runReplay } from '../replay/index.js';
import type { ReplayProgress, ReplaySummary } from '../replay/types.js';
import { resolveInspectOptions, type InspectServerOptions, type ResolvedInspectOptions } from './options.js';
import { inspectPage } from './page.js';

/**
 * `onex inspect serve`: the HTTP API and page over the correlation index, on fastify (as the schema registry and
 * /metrics servers are). The page draws one flow's trace as a waterfall; the API gives the same data as JSON and
 * starts replays. docs/inspect.md lists the routes.
 */
export interface InspectServer {
  /** http://host:port */
  url: string;
  close(): Promise<void>;
}

interface ReplayJob {
  id: string;
  state: 'running' | 'done' | 'failed';
  progress: ReplayProgress | null;
  summary: ReplaySummary | null;
  error: { code: string; message: string } | null;
}

/** Largest POST body, bytes. */
const BODY_LIMIT = 64 * 1024;

/** The HTTP status of an ONEX error: not found, the caller's mistake, a dependency that is not there, or ours. */
function statusOf(e: OnexError): number {
  if (e.code === 'ONEX_RT_431') return 404;
  if (e.code === 'ONEX_RT_407' || e.code.startsWith('ONEX_CLI_') || e.code.startsWith('ONEX_VALID_')) return 400;
  if (e.code === 'ONEX_RT_430') return 503;
  return 500;
}

/** A fastify route pattern as the route label of the metrics: `/api/correlations/:id` -> `/api/correlations/{id}`. */
const routeLabel = (url: string | undefined): string => (url === undefined ? 'unmatched' : url === '/' ? '/flows/{id}' : url.replace(/:(\w+)/g, '{$1}'));

/** A request body: a JSON object whatever the content type says (or none); empty is `{}`. */
function parseBody(text: string): Record<string, unknown> {
  try {
    const v = JSON.parse(text || '{}') as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw onexError('ONEX_RT_407', `the request body is not a JSON object: ${(e as Error).message}`);
  }
}

const sendError = (reply: FastifyReply, status: number, code: string, message: string) => reply.code(status).type('application/json; charset=utf-8').send({ code, message });

/**
 * The fastify app with every route, not listening (tests call `app.inject`). It owns the onex_inspect_* metrics in
 * the registry: `close` on the app removes them, so another server can register them again.
 */
export function createInspectApp(options: InspectServerOptions): { app: FastifyInstance; options: ResolvedInspectOptions } {
  const o: ResolvedInspectOptions = resolveInspectOptions(options);
  const registry: Registry = o.metricsRegistry ?? client.register;
  const requests = new Counter({ name: 'onex_inspect_requests_total', help: 'HTTP requests to the inspect server', labelNames: ['route', 'status'], registers: [registry] });
  const latency = new Histogram({ name: 'onex_inspect_request_seconds', help: 'Time to answer an inspect request', labelNames: ['route'], buckets: [0.005, 0.02, 0.1, 0.5, 2, 10], registers: [registry] });
  const replays = new Map<string, ReplayJob>();

  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    // HEAD is not served (405 as before), and open keep-alive connections (a browser's) do not hold up close.
    exposeHeadRoutes: false,
    forceCloseConnections: true,
    // Errors fastify raises before routing (a malformed percent-encoding in the URL): the same JSON error body.
    frameworkErrors: (err, _request, reply) => void sendError(reply as FastifyReply, 400, 'ONEX_RT_407', `the request is malformed: ${err.message}`),
  });
  app.addHook('onClose', async () => {
    registry.removeSingleMetric('onex_inspect_requests_total');
    registry.removeSingleMetric('onex_inspect_request_seconds');
  });
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseBody(typeof body === 'string' ? body : body.toString('utf8')));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addHook('onSend', async (_request, reply) => void reply.header('cache-control', 'no-store'));
  app.addHook('onResponse', async (request, reply) => {
    const route = routeLabel(request.routeOptions.url);
    requests.inc({ route, status: String(reply.statusCode) });
    latency.observe({ route }, reply.elapsedTime / 1000);
  });

  // A path served with another method is 405; a path not served at all is 404.
  const patterns: RegExp[] = [];
  app.addHook('onRoute', (route) => void patterns.push(new RegExp(`^${route.url.replace(/:[^/]+/g, '[^/]+')}$`)));
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    return patterns.some((re) => re.test(path))
      ? sendError(reply, 405, 'ONEX_CLI_300', `${request.method} is not served on ${path}`)
      : sendError(reply, 404, 'ONEX_RT_431', `nothing is served at ${path}`);
  });
  app.setErrorHandler((err: Error & { code?: string }, _request, reply) => {
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, 400, 'ONEX_RT_407', `the request body is over ${BODY_LIMIT} bytes`);
    const e = asOnexError(err, 'ONEX_EVENT_600');
    return sendError(reply, statusOf(e), e.code, e.message);
  });

  const trace = async (what: { correlationId?: string; traceId?: string }) => {
    const t = await loadTrace({ kafka: o.kafka, decoder: o.decoder, topic: o.topic, indexTopic: o.indexTopic, indexGroup: o.indexGroup, ...what });
    return { ...t.tree, records_read: t.records_read, index_records_read: t.index_records_read };
  };
  type ById = { Params: { id: string } };

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const admin = o.kafka.admin();
    try {
      await admin.connect();
      const topics = new Set(await admin.listTopics());
      const missing = [o.topic, o.indexTopic].filter((t) => !topics.has(t));
      return missing.length ? reply.code(503).send({ status: 'not ready', missing }) : { status: 'ready', topic: o.topic, index_topic: o.indexTopic };
    } catch (e) {
      return reply.code(503).send({ status: 'not ready', error: (e as Error).message });
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  });
  app.get('/metrics', async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  const page = async (_request: unknown, reply: FastifyReply) => reply.type('text/html; charset=utf-8').send(inspectPage());
  app.get('/', page);
  app.get('/flows/:id', page);
  app.get<ById>('/api/correlations/:id', async (request) => trace({ correlationId: request.params.id }));
  app.get<ById>('/api/correlations/:id/flow', async (request) => {
    const { id } = request.params;
    const flow = await new CorrelationLookup(o.kafka, o.indexTopic).flow(id);
    if (!flow) throw onexError('ONEX_RT_431', `the correlation index ${o.indexTopic} knows no flow ${id}`);
    return flow;
  });
  app.get<ById>('/api/traces/:id', async (request) => trace({ traceId: request.params.id }));
  app.post<{ Body: Record<string, unknown> | undefined }>('/api/replays', async (request, reply) => {
    if (!flags.isEnabled('onex.replay.enabled')) throw onexError('ONEX_CLI_303', 'replay is switched off by the feature flag onex.replay.enabled');
    if (!(o.decoder instanceof OnexEventCodec)) throw onexError('ONEX_RT_407', 'invalid inspect server option decoder: replays need an OnexEventCodec (it encodes the copies)');
    const body = request.body ?? {};
    const correlationId = body.correlation_id;
    if (typeof correlationId !== 'string' || correlationId === '') throw onexError('ONEX_RT_407', 'invalid replay request correlation_id: a correlation id string is required');
    const speed = parseSpeed(String(body.speed ?? '1'));
    const toTopic = typeof body.to_topic === 'string' ? body.to_topic : o.replayTopic;
    const lookup = new CorrelationLookup(o.kafka, o.indexTopic, { indexGroup: o.indexGroup });
    const job: ReplayJob = { id: randomUUID(), state: 'running', progress: null, summary: null, error: null };
    replays.set(job.id, job);
    void runReplay({
      kafka: o.kafka, codec: o.decoder, sourceTopic: o.topic, toTopic, selection: { correlationId, withChildren: body.with_children === true },
      speed, replayId: job.id, rangesFor: (id) => lookup.rangesFor(id, o.topic), treeFor: (id) => lookup.treeRanges(id, o.topic),
      onProgress: (p) => void (job.progress = p),
    }).then(
      (s) => Object.assign(job, { state: 'done', summary: s }),
      (e: unknown) => {
        const err = asOnexError(e, 'ONEX_EVENT_600');
        Object.assign(job, { state: 'failed', error: { code: err.code, message: err.message } });
      },
    );
    return reply.code(202).send({ id: job.id, state: job.state, to_topic: toTopic });
  });
  app.get<ById>('/api/replays/:id', async (request) => {
    const job = replays.get(request.params.id);
    if (!job) throw onexError('ONEX_RT_431', `no replay ${request.params.id} was started here`);
    return job;
  });
  return { app, options: o };
}

export async function startInspectServer(options: InspectServerOptions): Promise<InspectServer> {
  const { app, options: o } = createInspectApp(options);
  try {
    await app.listen({ port: o.port, host: o.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      throw onexError('ONEX_RT_406', `port ${o.port} on ${o.host} is in use, so the inspect server cannot listen there; choose another port`, { cause: err });
    }
    throw err;
  }
  const { port } = app.server.address() as { port: number };
  return { url: `http://${o.host}:${port}`, close: () => app.close() };
}
