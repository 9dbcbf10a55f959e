/**
 * Cost of security per event, on each side, beside the same work with security off, in one run: the producer side
 * encodes a 1.3.0 NODE_FAILURE event (Avro) and, with security on, first encrypts one 200-byte metadata field and
 * then signs the body (Ed25519 or HMAC-SHA256); the worker side decodes and, with security on, verifies the
 * signature and decrypts the field. Kafka I/O is left out (it is the same both ways); this is the CPU the security
 * stages add. Each side takes the path the producer and the worker take: synchronous where the code has a
 * synchronous path, a promise where it has not.
 *
 * BENCH_BEFORE=<git ref>: the same rows measured, in the same run and alternating, with src/schema and src/security
 * as they are at that commit (extracted under node_modules/.cache/onex-bench-before/, where imports resolve as in the tree), so a change is shown as before/after of one run.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
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
const after = await stages(currentSchema, currentSecurity);
const old = ref ? await (async () => { const b = await before(ref); return stages(b.schema, b.sec); })() : undefined;
const offP = await measure((i) => currentSchema.encodeEvent(events[i]!, '1.3.0'));
const plain = events.map((e) => currentSchema.encodeEvent(e, '1.3.0'));
const offW = await measure((i) => currentSchema.decodeEvent(plain[i]!, '1.3.0'));

process.stdout.write(`${N} events, one 200-byte field encrypted (AES-256-GCM) and signed, vs both off (encode / decode only), CPU µs per event\n\n`);
const f = (x: number) => x.toFixed(1);
if (old) {
  process.stdout.write(`before = ${ref}, after = this tree, same run, alternating\n\n| side | off | before on | after on | before added | after added | after/before (added) | ratio on/off after |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n`);
} else {
  process.stdout.write('| side | off µs/event | on µs/event | added µs/event | off events/s | on events/s | ratio on/off |\n| --- | --- | --- | --- | --- | --- | --- |\n');
}
for (const side of Object.keys(after) as (keyof typeof after)[]) {
  const off = side.startsWith('producer') ? offP : offW;
  const b = old ? await measure(old[side]) : undefined;
  const a = await measure(after[side]);
  if (b) {
    process.stdout.write(`| ${side} | ${f(off.us)} | ${f(b.us)} | ${f(a.us)} | ${f(b.us - off.us)} | ${f(a.us - off.us)} | ${((a.us - off.us) / (b.us - off.us)).toFixed(2)} | ${(a.perSec / off.perSec).toFixed(2)}x |\n`);
  } else {
    process.stdout.write(`| ${side} | ${f(off.us)} | ${f(a.us)} | ${f(a.us - off.us)} | ${Math.round(off.perSec)} | ${Math.round(a.perSec)} | ${(a.perSec / off.perSec).toFixed(2)}x |\n`);
  }
}
