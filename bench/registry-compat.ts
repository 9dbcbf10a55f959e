/**
 * A transitive compatibility check against 100 registered versions. Target: under 50 ms.
 *
 * Measured two ways: the checker call as the registry makes it (src/registry/compatibility.ts over src/schema), and
 * end to end over HTTP on 127.0.0.1 (POST /compatibility/subjects/{s}/versions?verbose=true with the subject at
 * BACKWARD_TRANSITIVE, and the registration of version 101, which runs the same check before it writes).
 *
 *   npx tsx bench/registry-compat.ts            (or: npm run bench -- registry-compat)
 */
import { performance } from 'node:perf_hooks';
import { checkSubjectCompatibility } from '../src/registry/compatibility.js';
import { MemoryStore } from '../src/registry/memory-store.js';
import { createRegistryServer } from '../src/registry/server.js';

const VERSIONS = 100;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 50);
const TARGET_MS = 50;

/** Version n: the base envelope plus n optional fields with defaults, so every version is BACKWARD_TRANSITIVE-compatible. */
function version(n: number): string {
  const fields: object[] = [
    { name: 'event_id', type: 'string' },
    { name: 'timestamp', type: { type: 'long', logicalType: 'timestamp-micros' } },
    { name: 'node_id', type: 'string' },
    { name: 'event_type', type: { type: 'enum', name: 'EventType', symbols: ['NODE_START', 'NODE_SUCCESS', 'NODE_FAILURE', 'UNKNOWN'], default: 'UNKNOWN' } },
    { name: 'correlation_id', type: ['null', 'string'], default: null },
    { name: 'metadata', type: { type: 'map', values: 'string' }, default: {} },
  ];
  for (let i = 1; i < n; i++) fields.push({ name: `extra_${i}`, type: ['null', 'string'], default: null });
  return JSON.stringify({ type: 'record', name: 'OnexEvent', namespace: 'onex.bench', fields });
}

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { median: at(0.5), p99: at(0.99), max: s[s.length - 1]! };
}

async function time(fn: () => unknown | Promise<unknown>): Promise<number[]> {
  for (let i = 0; i < 5; i++) await fn(); // warm-up
  const out: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

const previous = Array.from({ length: VERSIONS }, (_, i) => ({ version: i + 1, schema: version(i + 1) }));
const next = version(VERSIONS + 1);

const direct = stats(await time(() => {
  const r = checkSubjectCompatibility(previous, next, 'BACKWARD_TRANSITIVE');
  if (!r.compatible) throw new Error(`expected compatible: ${r.messages.join('; ')}`);
}));
const fullDirect = stats(await time(() => checkSubjectCompatibility(previous, next, 'FULL_TRANSITIVE')));

const server = createRegistryServer({ store: new MemoryStore() });
const url = await server.listen(0, '127.0.0.1');
const post = (path: string, body: unknown, method = 'POST') =>
  fetch(`${url}${path}`, { method, headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' }, body: JSON.stringify(body) }).then(
    async (r) => ({ status: r.status, body: (await r.json()) as Record<string, unknown> }),
  );
try {
  await post('/config/bench', { compatibility: 'BACKWARD_TRANSITIVE' }, 'PUT');
  for (const p of previous) await post('/subjects/bench/versions', { schema: p.schema });
  const viaHttp = stats(await time(async () => {
    const r = await post('/compatibility/subjects/bench/versions?verbose=true', { schema: next });
    if (r.body.is_compatible !== true) throw new Error(JSON.stringify(r.body));
  }));
  const t0 = performance.now();
  const registered = await post('/subjects/bench/versions', { schema: next });
  const registerMs = performance.now() - t0;
  if (registered.status !== 200) throw new Error(JSON.stringify(registered.body));

  const f = (n: number) => n.toFixed(2);
  const lines = [
    `Transitive compatibility of version ${VERSIONS + 1} against ${VERSIONS} versions (${ITERATIONS} timed runs after warm-up)`,
    '',
    '| measurement | median ms | p99 ms | max ms |',
    '|---|---|---|---|',
    `| checker, BACKWARD_TRANSITIVE | ${f(direct.median)} | ${f(direct.p99)} | ${f(direct.max)} |`,
    `| checker, FULL_TRANSITIVE | ${f(fullDirect.median)} | ${f(fullDirect.p99)} | ${f(fullDirect.max)} |`,
    `| HTTP POST /compatibility/subjects/{s}/versions?verbose=true | ${f(viaHttp.median)} | ${f(viaHttp.p99)} | ${f(viaHttp.max)} |`,
    `| HTTP register version ${VERSIONS + 1} (check + write, memory store, once) | ${f(registerMs)} | | |`,
    '',
    `Target (< ${TARGET_MS} ms): ${viaHttp.p99 < TARGET_MS && direct.p99 < TARGET_MS ? 'met' : 'NOT met'} (p99 over HTTP ${f(viaHttp.p99)} ms).`,
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
} finally {
  await server.close();
}
