/**
 * Cost of security per event, on each side, beside the same work with security off, in one run: the producer side
 * encodes a 1.3.0 NODE_FAILURE event (Avro) and, with security on, first encrypts one 200-byte metadata field and
 * then signs the body (Ed25519 or HMAC-SHA256); the worker side decodes and, with security on, verifies the
 * signature and decrypts the field. Kafka I/O is left out (it is the same both ways); this is the CPU the security
 * stages add. Each side takes the path the producer and the worker take: synchronous where the code has a
 * synchronous path, a promise where it has not.
 *
 * BENCH_ROUNDS (default 5): rounds, each measuring every row beside its baseline; BENCH_ROWS=<regexp>: only the rows
 * whose name matches (`BENCH_ROWS=hmac`). The whole pipeline, Kafka included, is bench/security-pipeline.ts.
 *
 * BENCH_BEFORE=<git ref>: the same rows measured, in the same run and alternating, with src/schema and src/security
 * as they are at that commit (extracted under node_modules/.cache/onex-bench-before/, where imports resolve as in the tree), so a change is shown as before/after of one run.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as currentSchema from '../src/schema/index.js';
import * as currentSecurity from '../src/security/index.js';

type Schema = typeof currentSchema;
type Security = typeof currentSecurity;
const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const facts = { eventType: 'NODE_FAILURE', schemaVersion: '1.3.0' };
const paths = ['metadata.input_state.card'];
const keyring = { keys: [{ id: 'k1', active_from: new Date(Date.now() - 60_000).toISOString(), secret: Buffer.alloc(32, 5).toString('base64') }] };

function event() {
  return {
    event_id: randomUUID(),
    timestamp: '2026-05-25T14:17:21.178483Z',
    node_id: 'payments_node-001',
    event_type: 'NODE_FAILURE',
    correlation_id: randomUUID(),
    schema_version: '1.3.0',
    metadata: { input_state: { card: 'x'.repeat(200) }, error: 'card declined' },
  };
}
type Ev = ReturnType<typeof event>;
const events = Array.from({ length: N }, event);

/** CPU µs per event and events/s of `run` over N events; a run that returns no promise is not awaited. */
async function measure(run: (i: number) => unknown): Promise<{ us: number; perSec: number }> {
  for (let i = 0; i < 2_000; i++) {
    const r = run(i % N);
    if (r instanceof Promise) await r;
  }
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < N; i++) {
    const r = run(i);
    if (r instanceof Promise) await r;
  }
  const wall = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { us: (used.user + used.system) / N, perSec: N / (wall / 1000) };
}

/** The producer and worker stages of one implementation (the current tree, or src at BENCH_BEFORE). */
async function stages(schema: Schema, sec: Security) {
  const provider = new sec.LocalKeyringProvider(keyring);
  const cipher = new sec.FieldCipher({ provider });
  const verifier = new sec.EventVerifier({ provider });
  const s = sec as Partial<Security> & Security;
  const encrypt = (e: Ev) => (s.encryptEventFieldsNow ?? s.encryptEventFields)(e, paths, cipher, '1.3.0');
  const decrypt = (e: Ev) => (s.decryptEventFieldsNow ?? s.decryptEventFields)(e, cipher);
  const then = <T, U>(v: T | Promise<T>, f: (t: T) => U | Promise<U>): U | Promise<U> => (v instanceof Promise ? v.then(f) : f(v));
  const make = (algorithm: 'ed25519' | 'hmac-sha256') => {
    const signer = new sec.EventSigner({ provider, algorithm });
    const sign = (body: Uint8Array) => signer.signSync?.(body, facts) ?? signer.sign(body, facts);
    const produce = (e: Ev) => then(encrypt(e), (x) => { const body = schema.encodeEvent(x, '1.3.0'); return then(sign(body), (sig) => ({ body, sig })); });
    const consume = (r: { body: Buffer; sig: currentSecurity.EventSignature }) =>
      then(verifier.verifySync?.(r.body, r.sig, true) ?? verifier.verify(r.body, r.sig, true), () => decrypt(schema.decodeEvent(r.body, '1.3.0') as Ev));
    return { produce, consume };
  };
  const ed = make('ed25519');
  const hmac = make('hmac-sha256');
  const records = { ed: [] as { body: Buffer; sig: currentSecurity.EventSignature }[], hmac: [] as { body: Buffer; sig: currentSecurity.EventSignature }[] };
  for (const e of events) {
    records.ed.push(await ed.produce(e));
    records.hmac.push(await hmac.produce(e));
  }
  return {
    'producer, Ed25519 + 1 field': (i: number) => ed.produce(events[i]!),
    'worker, Ed25519 + 1 field': (i: number) => ed.consume(records.ed[i]!),
    'producer, HMAC-SHA256 + 1 field': (i: number) => hmac.produce(events[i]!),
    'worker, HMAC-SHA256 + 1 field': (i: number) => hmac.consume(records.hmac[i]!),
    'producer, encryption only': (i: number) => then(encrypt(events[i]!), (x) => schema.encodeEvent(x, '1.3.0')),
    'worker, decryption only': (i: number) => decrypt(schema.decodeEvent(records.hmac[i]!.body, '1.3.0') as Ev),
  };
}

async function before(ref: string): Promise<{ schema: Schema; sec: Security }> {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', '.cache', 'onex-bench-before', ref.replace(/[^A-Za-z0-9._-]/g, '_'));
  if (!existsSync(join(root, 'src'))) {
    mkdirSync(root, { recursive: true });
    execFileSync('sh', ['-c', 'git archive "$1" src avro | tar -x -C "$2"', 'sh', ref, root]);
  }
  const load = (path: string) => import(pathToFileURL(join(root, path)).href);
  return { schema: (await load('src/schema/index.ts')) as Schema, sec: (await load('src/security/index.ts')) as Security };
}

const ref = process.env.BENCH_BEFORE;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const only = process.env.BENCH_ROWS ? new RegExp(process.env.BENCH_ROWS, 'i') : undefined;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const after = await stages(currentSchema, currentSecurity);
const old = ref ? await (async () => { const b = await before(ref); return stages(b.schema, b.sec); })() : undefined;
const plain = events.map((e) => currentSchema.encodeEvent(e, '1.3.0'));
const off = {
  producer: (i: number) => currentSchema.encodeEvent(events[i]!, '1.3.0'),
  worker: (i: number) => currentSchema.decodeEvent(plain[i]!, '1.3.0'),
};
const sides = (Object.keys(after) as (keyof typeof after)[]).filter((side) => only === undefined || only.test(side));
type Sample = { off: number[]; before: number[]; after: number[]; perSecOff: number[]; perSecAfter: number[] };
const samples = new Map<string, Sample>(sides.map((side) => [side, { off: [], before: [], after: [], perSecOff: [], perSecAfter: [] }]));
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(' / ');
// Every row is measured beside its own baseline (and before, with BENCH_BEFORE) in every round, so that a noisy
// neighbour hurts all of them; medians over the rounds.
for (let round = 0; round < ROUNDS; round++) {
  for (const side of sides) {
    const s = samples.get(side)!;
    const o = await measure(side.startsWith('producer') ? off.producer : off.worker);
    const b = old ? await measure(old[side]) : undefined;
    const a = await measure(after[side]);
    s.off.push(o.us);
    s.perSecOff.push(o.perSec);
    s.after.push(a.us);
    s.perSecAfter.push(a.perSec);
    if (b) s.before.push(b.us);
  }
  process.stderr.write(`[bench/security] round ${round + 1} of ${ROUNDS} (load ${loadavg()[0]!.toFixed(1)})\n`);
}

const f = (x: number) => x.toFixed(1);
process.stdout.write(
  `${N} events, one 200-byte field encrypted (AES-256-GCM) and signed, vs both off (encode / decode only); CPU µs per event (process user + system), medians of ${ROUNDS} rounds, each row beside its baseline in every round; added = median of per-round differences; node ${process.version}, load average ${loadAtStart} (start) and ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (end)\n\n`,
);
if (old) {
  process.stdout.write(`before = ${ref}, after = this tree, same run, alternating\n\n| side | off | before on | after on | before added | after added | after/before (added) |\n| --- | --- | --- | --- | --- | --- | --- |\n`);
} else {
  process.stdout.write('| side | off µs/event | on µs/event | added µs/event | off events/s | on events/s | ratio on/off |\n| --- | --- | --- | --- | --- | --- | --- |\n');
}
for (const side of sides) {
  const s = samples.get(side)!;
  const addedAfter = median(s.after.map((a, i) => a - s.off[i]!));
  if (old) {
    const addedBefore = median(s.before.map((b, i) => b - s.off[i]!));
    process.stdout.write(`| ${side} | ${f(median(s.off))} | ${f(median(s.before))} | ${f(median(s.after))} | ${f(addedBefore)} | ${f(addedAfter)} | ${(addedAfter / addedBefore).toFixed(2)} |\n`);
  } else {
    const ratio = median(s.perSecAfter.map((a, i) => a / s.perSecOff[i]!));
    process.stdout.write(`| ${side} | ${f(median(s.off))} | ${f(median(s.after))} | ${f(addedAfter)} | ${Math.round(median(s.perSecOff))} | ${Math.round(median(s.perSecAfter))} | ${ratio.toFixed(2)}x |\n`);
  }
}
