/**
 * GET /schemas/ids/{id} throughput and latency of the registry server, measured with autocannon over 127.0.0.1.
 * Target: 5,000 requests/s or more with p99 under 10 ms.
 *
 * The server runs in its own process (`onex registry serve`), so the load generator does not share its event loop.
 * Store: Kafka when KAFKA_BROKERS is set (a fresh topic), else memory; reads are answered from local state either
 * way. Two runs: one at a fixed 5,000 requests/s (the target: what latency does a consumer fleet see at that load?),
 * and one unthrottled (the ceiling on this machine, where latency is mostly queueing by construction).
 *
 *   npx tsx bench/registry-ids.ts            (or: npm run bench -- registry-ids)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';

const SCHEMAS = 100;
const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 10);
const CONNECTIONS = 16;
const TARGET_RPS = 5_000;
const TARGET_P99_MS = 10;

const cli = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const brokers = process.env.KAFKA_BROKERS;
const storeArgs = brokers ? ['--kafka', brokers, '--topic', `bench.registry.${randomBytes(4).toString('hex')}`] : ['--memory'];

const child = spawn(process.execPath, ['--import', 'tsx', cli, 'registry', 'serve', '--port', '0', ...storeArgs], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, ONEX_LOG_LEVEL: 'warn' },
});
const url = await new Promise<string>((resolve, reject) => {
  const lines = createInterface({ input: child.stdout! });
  lines.once('line', (line) => resolve(line.trim()));
  child.once('exit', (code) => reject(new Error(`registry exited with ${code} before it listened`)));
});

try {
  const ids: number[] = [];
  await fetch(`${url}/config`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: '{"compatibility":"NONE"}' });
  for (let i = 0; i < SCHEMAS; i++) {
    const schema = { type: 'record', name: `Bench${i}`, fields: [{ name: `f${i}`, type: 'string' }, { name: 'n', type: 'long' }] };
    const res = await fetch(`${url}/subjects/bench-${i % 10}/versions`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
      body: JSON.stringify({ schema: JSON.stringify(schema) }),
    });
    ids.push(((await res.json()) as { id: number }).id);
  }

  const load = (overallRate?: number) => {
    let n = 0;
    return autocannon({
      url,
      connections: CONNECTIONS,
      duration: DURATION_S,
      ...(overallRate ? { overallRate } : {}),
      requests: [{ method: 'GET', path: '/schemas/ids/1', setupRequest: (req) => ({ ...req, path: `/schemas/ids/${ids[n++ % ids.length]}` }) }],
    });
  };
  await load().then(() => undefined); // warm-up run (JIT, connection pools), not reported
  const atTarget = await load(TARGET_RPS);
  const ceiling = await load();

  const row = (name: string, r: autocannon.Result) =>
    `| ${name} | ${Math.round(r.requests.average).toLocaleString('en')} | ${r.latency.p50} | ${r.latency.p90} | ${r.latency.p99} | ${r.latency.max} | ${r.non2xx + r.errors + r.timeouts} |`;
  const lines = [
    `GET /schemas/ids/{id} over ${SCHEMAS} ids, ${CONNECTIONS} connections, ${DURATION_S} s per run, store: ${brokers ? 'kafka' : 'memory'}, autocannon on 127.0.0.1`,
    '',
    '| run | requests/s | p50 ms | p90 ms | p99 ms | max ms | errors |',
    '|---|---|---|---|---|---|---|',
    row(`fixed rate ${TARGET_RPS.toLocaleString('en')}/s`, atTarget),
    row('unthrottled', ceiling),
    '',
  ];
  const met = atTarget.requests.average >= TARGET_RPS * 0.97 && atTarget.latency.p99 < TARGET_P99_MS && atTarget.non2xx === 0;
  lines.push(
    `Target (>= ${TARGET_RPS.toLocaleString('en')} req/s with p99 < ${TARGET_P99_MS} ms): ${met ? 'met' : 'NOT met'}; ceiling ${Math.round(ceiling.requests.average).toLocaleString('en')} req/s.`,
    '',
  );
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  child.kill('SIGTERM');
}
