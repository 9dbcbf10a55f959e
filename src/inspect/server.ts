import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import client, { Counter, Histogram, type Registry } from 'prom-client';
import { OnexEventCodec } from '../codec/index.js';
import { asOnexError, onexError, type OnexError } from '../errors/index.js';
import { flags } from '../flags/index.js';
import { CorrelationLookup, loadTrace } from '../processors/correlation/index.js';
import { parseSpeed, runReplay, type ReplayProgress, type ReplaySummary } from '../replay/index.js';
import { resolveInspectOptions, type InspectServerOptions, type ResolvedInspectOptions } from './options.js';
import { inspectPage } from './page.js';

/**
 * `onex inspect serve`: a small HTTP server on node:http (a handful of routes need no framework) over the
 * correlation index. The page draws one flow's trace as a waterfall; the API gives the same data as JSON and starts
 * replays. docs/inspect.md lists the routes.
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

type Handler = (req: IncomingMessage, params: string[]) => Promise<Reply>;
interface Reply {
  status: number;
  type: string;
  body: string;
}

const json = (value: unknown, status = 200): Reply => ({ status, type: 'application/json; charset=utf-8', body: JSON.stringify(value) });

/** The HTTP status of an ONEX error: not found, the caller's mistake, a dependency that is not there, or ours. */
function statusOf(e: OnexError): number {
  if (e.code === 'ONEX_RT_431') return 404;
  if (e.code === 'ONEX_RT_407' || e.code.startsWith('ONEX_CLI_') || e.code.startsWith('ONEX_VALID_')) return 400;
  if (e.code === 'ONEX_RT_430') return 503;
  return 500;
}

async function readJson(req: IncomingMessage, limit = 64 * 1024): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req as AsyncIterable<Buffer>) {
    size += c.length;
    if (size > limit) throw onexError('ONEX_RT_407', `the request body is over ${limit} bytes`);
    chunks.push(c);
  }
  try {
    const v = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw onexError('ONEX_RT_407', `the request body is not a JSON object: ${(e as Error).message}`);
  }
}

export async function startInspectServer(options: InspectServerOptions): Promise<InspectServer> {
  const o: ResolvedInspectOptions = resolveInspectOptions(options);
  const registry: Registry = o.metricsRegistry ?? client.register;
  const requests = new Counter({ name: 'onex_inspect_requests_total', help: 'HTTP requests to the inspect server', labelNames: ['route', 'status'], registers: [registry] });
  const latency = new Histogram({ name: 'onex_inspect_request_seconds', help: 'Time to answer an inspect request', labelNames: ['route'], buckets: [0.005, 0.02, 0.1, 0.5, 2, 10], registers: [registry] });
  const replays = new Map<string, ReplayJob>();

  const trace = (what: { correlationId?: string; traceId?: string }) =>
    loadTrace({ kafka: o.kafka, decoder: o.decoder, topic: o.topic, indexTopic: o.indexTopic, indexGroup: o.indexGroup, ...what }).then((t) => json({ ...t.tree, records_read: t.records_read, index_records_read: t.index_records_read }));

  const routes: Array<[method: string, path: RegExp, route: string, handler: Handler]> = [
    ['GET', /^\/healthz$/, '/healthz', async () => json({ status: 'ok' })],
    ['GET', /^\/readyz$/, '/readyz', async () => {
      const admin = o.kafka.admin();
      try {
        await admin.connect();
        const topics = new Set(await admin.listTopics());
        const missing = [o.topic, o.indexTopic].filter((t) => !topics.has(t));
        return missing.length ? json({ status: 'not ready', missing }, 503) : json({ status: 'ready', topic: o.topic, index_topic: o.indexTopic });
      } catch (e) {
        return json({ status: 'not ready', error: (e as Error).message }, 503);
      } finally {
        await admin.disconnect().catch(() => undefined);
      }
    }],
    ['GET', /^\/metrics$/, '/metrics', async () => ({ status: 200, type: registry.contentType, body: await registry.metrics() })],
    ['GET', /^\/(?:flows\/[^/]+)?$/, '/flows/{id}', async () => ({ status: 200, type: 'text/html; charset=utf-8', body: inspectPage() })],
    ['GET', /^\/api\/correlations\/([^/]+)$/, '/api/correlations/{id}', async (_req, [id]) => trace({ correlationId: id })],
    ['GET', /^\/api\/correlations\/([^/]+)\/flow$/, '/api/correlations/{id}/flow', async (_req, [id]) => {
      const flow = await new CorrelationLookup(o.kafka, o.indexTopic).flow(id!);
      if (!flow) throw onexError('ONEX_RT_431', `the correlation index ${o.indexTopic} knows no flow ${id}`);
      return json(flow);
    }],
    ['GET', /^\/api\/traces\/([^/]+)$/, '/api/traces/{id}', async (_req, [id]) => trace({ traceId: id })],
    ['POST', /^\/api\/replays$/, '/api/replays', async (req) => {
      if (!flags.isEnabled('onex.replay.enabled')) throw onexError('ONEX_CLI_303', 'replay is switched off by the feature flag onex.replay.enabled');
      if (!(o.decoder instanceof OnexEventCodec)) throw onexError('ONEX_RT_407', 'invalid inspect server option decoder: replays need an OnexEventCodec (it encodes the copies)');
      const body = await readJson(req);
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
      return json({ id: job.id, state: job.state, to_topic: toTopic }, 202);
    }],
    ['GET', /^\/api\/replays\/([^/]+)$/, '/api/replays/{id}', async (_req, [id]) => {
      const job = replays.get(id!);
      if (!job) throw onexError('ONEX_RT_431', `no replay ${id} was started here`);
      return json(job);
    }],
  ];

  async function answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    const path = new URL(req.url ?? '/', 'http://inspect').pathname;
    let route = 'unmatched';
    let reply: Reply;
    try {
      const found = routes.find(([m, re]) => m === req.method && re.test(path));
      if (!found) {
        const other = routes.some(([, re]) => re.test(path));
        reply = json({ code: other ? 'ONEX_CLI_300' : 'ONEX_RT_431', message: other ? `${req.method} is not served on ${path}` : `nothing is served at ${path}` }, other ? 405 : 404);
      } else {
        route = found[2];
        const params = (found[1].exec(path) ?? []).slice(1).map((p) => decodeURIComponent(p));
        reply = await found[3](req, params);
      }
    } catch (err) {
      const e = asOnexError(err, 'ONEX_EVENT_600');
      reply = json({ code: e.code, message: e.message }, statusOf(e));
    }
    res.writeHead(reply.status, { 'content-type': reply.type, 'cache-control': 'no-store' });
    res.end(reply.body);
    requests.inc({ route, status: String(reply.status) });
    latency.observe({ route }, Number(process.hrtime.bigint() - started) / 1e9);
  }

  const server = createServer((req, res) => void answer(req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? onexError('ONEX_RT_406', `port ${o.port} on ${o.host} is in use, so the inspect server cannot listen there; choose another port`, { cause: err }) : err),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  const { port } = server.address() as { port: number };
  return {
    url: `http://${o.host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
        registry.removeSingleMetric('onex_inspect_requests_total');
        registry.removeSingleMetric('onex_inspect_request_seconds');
      }),
  };
}
