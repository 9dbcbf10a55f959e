/**
 * Cost of security per event, on each side, beside the same work with security off, in one run: the producer side
 * encodes a 1.3.0 NODE_FAILURE event (Avro) and, with security on, first encrypts one 200-byte metadata field and
 * then signs the body (Ed25519); the worker side decodes and, with security on, verifies the signature and decrypts
 * the field. Kafka I/O is left out (it is the same both ways); this is the CPU the security stages add.
 */
import { randomUUID } from 'node:crypto';
import { decodeEvent, encodeEvent } from '../src/schema/index.js';
import {
  decryptEventFields,
  encryptEventFields,
  EventSigner,
  EventVerifier,
  FieldCipher,
  LocalKeyringProvider,
  newKeyringEntry,
} from '../src/security/index.js';

const N = Number(process.env.BENCH_EVENTS ?? 20_000);
const provider = new LocalKeyringProvider({ keys: [newKeyringEntry(new Date(Date.now() - 60_000), 'k1')] });
const cipher = new FieldCipher({ provider });
const signer = new EventSigner({ provider });
const verifier = new EventVerifier({ provider });
const facts = { eventType: 'NODE_FAILURE', schemaVersion: '1.3.0' };

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

async function measure(run: (i: number) => Promise<void> | void): Promise<{ usPerEvent: number; perSec: number }> {
  for (let i = 0; i < 2_000; i++) await run(i); // warm-up
  const cpu = process.cpuUsage();
  const t = performance.now();
  for (let i = 0; i < N; i++) await run(i);
  const wall = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { usPerEvent: (used.user + used.system) / N, perSec: N / (wall / 1000) };
}

const events = Array.from({ length: N }, event);
const paths = ['metadata.input_state.card'];
const plain = events.map((e) => encodeEvent(e, '1.3.0'));
const secured = await Promise.all(
  events.map(async (e) => {
    const body = encodeEvent(await encryptEventFields(e, paths, cipher, '1.3.0'), '1.3.0');
    return { body, sig: await signer.sign(body, facts) };
  }),
);

const hmacSigner = new EventSigner({ provider, algorithm: 'hmac-sha256' });
const hmacSecured = await Promise.all(secured.map(async (s) => ({ body: s.body, sig: await hmacSigner.sign(s.body, facts) })));
const rows: [string, Awaited<ReturnType<typeof measure>>, Awaited<ReturnType<typeof measure>>][] = [];
rows.push([
  'producer side',
  await measure((i) => void encodeEvent(events[i % N]!, '1.3.0')),
  await measure(async (i) => {
    const body = encodeEvent(await encryptEventFields(events[i % N]!, paths, cipher, '1.3.0'), '1.3.0');
    await signer.sign(body, facts);
  }),
]);
rows.push([
  'worker side',
  await measure((i) => void decodeEvent(plain[i % N]!, '1.3.0')),
  await measure(async (i) => {
    const s = secured[i % N]!;
    await verifier.verify(s.body, s.sig, true);
    await decryptEventFields(decodeEvent(s.body, '1.3.0') as ReturnType<typeof event>, cipher);
  }),
]);

rows.push([
  'producer side, HMAC-SHA256',
  rows[0]![1],
  await measure(async (i) => {
    const body = encodeEvent(await encryptEventFields(events[i % N]!, paths, cipher, '1.3.0'), '1.3.0');
    await hmacSigner.sign(body, facts);
  }),
]);
rows.push([
  'worker side, HMAC-SHA256',
  rows[1]![1],
  await measure(async (i) => {
    const s = hmacSecured[i % N]!;
    await verifier.verify(s.body, s.sig, true);
    await decryptEventFields(decodeEvent(s.body, '1.3.0') as ReturnType<typeof event>, cipher);
  }),
]);
rows.push(['producer side, encryption only', rows[0]![1], await measure(async (i) => void encodeEvent(await encryptEventFields(events[i % N]!, paths, cipher, '1.3.0'), '1.3.0'))]);
rows.push([
  'worker side, decryption only',
  rows[1]![1],
  await measure(async (i) => void (await decryptEventFields(decodeEvent(secured[i % N]!.body, '1.3.0') as ReturnType<typeof event>, cipher))),
]);

process.stdout.write(`${N} events, one 200-byte field encrypted (AES-256-GCM) + Ed25519 signature vs both off\n\n`);
process.stdout.write('| side | off µs/event | on µs/event | added µs/event | off events/s | on events/s | ratio on/off |\n| --- | --- | --- | --- | --- | --- | --- |\n');
for (const [side, off, on] of rows) {
  process.stdout.write(`| ${side} | ${off.usPerEvent.toFixed(1)} | ${on.usPerEvent.toFixed(1)} | ${(on.usPerEvent - off.usPerEvent).toFixed(1)} | ${Math.round(off.perSec)} | ${Math.round(on.perSec)} | ${(on.perSec / off.perSec).toFixed(2)}x |\n`);
}
