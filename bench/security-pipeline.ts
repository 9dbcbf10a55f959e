/**
 * What field encryption and signing cost the whole producer and worker, Kafka included, in one run on one broker,
 * beside the same pipeline with both off (bench/security.ts measures the security stages alone, without Kafka):
 *
 *   off      no security policy in the producer, no RecordSecurity in the worker
 *   hmac     the producer encrypts one 200-byte metadata field (AES-256-GCM) and signs every event with
 *            HMAC-SHA256; the worker requires the signature, verifies it and decrypts the field before handlers
 *   ed25519  the same with Ed25519 signatures (the default algorithm)
 *
 * Each round emits N 1 KB 1.3.0 events, each with the 200-byte field, through OnexProducer (CPU and wall time of the
 * emit loop to the last acknowledgement), then reads them with a worker (decode, verify and decrypt when on, upcast
 * to 2.0.0, strict validation, no-op handler; CPU and wall time from the first record to the last). Modes alternate
 * inside every round, round 0 warms up and is not counted; medians over the rounds, ratios are medians of per-round
 * ratios to `off`. The worker checks that every event it handled came decrypted (the field is the plaintext).
 *
 *   node --import tsx bench/security-pipeline.ts   (KAFKA_BROKERS, else a local broker; BENCH_EVENTS, BENCH_ROUNDS,
 *   BENCH_MODES=off,hmac to leave Ed25519 out)
 */
import { randomUUID } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../src/codec/index.js';
import { startEphemeralBroker } from '../src/dev/index.js';
import { ALL_EVENT_TYPES } from '../src/event/index.js';
import { createKafka, ensureTopics } from '../src/kafka/index.js';
import { OnexProducer } from '../src/producer/index.js';
import { createRegistryServer, MemoryStore } from '../src/registry/index.js';
import { EventSigner, EventVerifier, FieldCipher, LocalKeyringProvider, RecordSecurity, SecurityPolicy } from '../src/security/index.js';
import { consumeAll, emitAll, makeEvents } from './support.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const PARTITIONS = 3;
const SECRET = 's'.repeat(200);
const FIELD = 'metadata.card';
const say = (line: string) => process.stderr.write(`[bench/security-pipeline] ${line}\n`);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

type Mode = 'off' | 'hmac' | 'ed25519';
const MODES = (process.env.BENCH_MODES ?? 'off,hmac,ed25519').split(',') as Mode[];
if (!MODES.includes('off') || MODES.some((m) => !['off', 'hmac', 'ed25519'].includes(m))) throw new Error('BENCH_MODES: off plus any of hmac, ed25519');

const broker = process.env.KAFKA_BROKERS ? undefined : await startEphemeralBroker({ prefix: 'onex-bench-security-', onProgress: say });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
const registryServer = createRegistryServer({ store: new MemoryStore() });
const registryUrl = await registryServer.listen(0, '127.0.0.1');
const kafka = createKafka({ brokers, clientId: 'bench-security' });
const codec = new OnexEventCodec({ registry: registryFromUrl(registryUrl) });
const run = Date.now().toString(36);
const loadAtStart = loadavg().map((l) => l.toFixed(1)).join(' / ');
const provider = new LocalKeyringProvider({ keys: [{ id: 'k1', active_from: new Date(Date.now() - 60_000).toISOString(), secret: Buffer.alloc(32, 5).toString('base64') }] });
const encrypt = Object.fromEntries(ALL_EVENT_TYPES.map((type) => [type, [FIELD]]));

function policy(mode: Mode): SecurityPolicy | undefined {
  if (mode === 'off') return undefined;
  return new SecurityPolicy({ cipher: new FieldCipher({ provider }), signer: new EventSigner({ provider, algorithm: mode === 'hmac' ? 'hmac-sha256' : 'ed25519' }), encrypt, sign: true });
}

async function produceRound(topic: string, mode: Mode, list: Array<Record<string, unknown>>): Promise<{ us: number; perSec: number }> {
  const security = policy(mode);
  const producer = new OnexProducer({
    kafka: { brokers, clientId: 'bench-security' },
    registry: registryUrl,
    topic,
    metricsRegistry: new Registry(),
    sampling: { enabled: false },
    ...(security ? { security } : {}),
  });
  await producer.start();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await emitAll(producer, list, 10_000);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await producer.close();
  return { us: (cpu.user + cpu.system) / list.length, perSec: list.length / (wall / 1000) };
}

async function consumeRound(topic: string, mode: Mode): Promise<{ us: number; perSec: number }> {
  let plain = 0;
  const { us, perSec, worker } = await consumeAll({
    kafka,
    decoder: codec,
    topic,
    group: `bench-security-${randomUUID()}`,
    events: EVENTS,
    partitions: PARTITIONS,
    extra: mode === 'off' ? {} : { security: new RecordSecurity({ verifier: new EventVerifier({ provider }), cipher: new FieldCipher({ provider }), requireSignature: () => true }) },
    onEvent: (event) => {
      // 2.0.0 keeps a 1.x field its typed record does not name in `extra`, or the whole metadata under `untyped`.
      const m = event.metadata as { untyped?: { card?: unknown }; extra?: { card?: unknown }; card?: unknown };
      if ((m.untyped ?? m.extra ?? m).card === SECRET) plain++;
    },
  });
  const stats = worker.stats();
  if (plain !== EVENTS || stats.deadLettered !== 0) throw new Error(`${mode}: ${plain} of ${EVENTS} events handled with the field in plaintext, ${stats.deadLettered} dead-lettered`);
  return { us, perSec };
}

type Side = { us: number[]; perSec: number[] };
const results = Object.fromEntries(MODES.map((m) => [m, { producer: { us: [], perSec: [] } as Side, worker: { us: [], perSec: [] } as Side }])) as Record<Mode, { producer: Side; worker: Side }>;

try {
  const admin = kafka.admin();
  await admin.connect();
  const topics = Array.from({ length: ROUNDS + 1 }, (_, r) => MODES.map((m) => `bench.security.${run}.${r}.${m}`)).flat();
  await ensureTopics(admin, topics.flatMap((t) => [{ topic: t, partitions: PARTITIONS }, { topic: `${t}.dlq`, partitions: 1 }]));
  await admin.disconnect();
  const events = makeEvents(EVENTS, 7).map((e) => ({ ...e, metadata: { ...(e.metadata as object), card: SECRET } }));
  for (let round = 0; round <= ROUNDS; round++) {
    for (const mode of MODES) {
      const topic = `bench.security.${run}.${round}.${mode}`;
      const p = await produceRound(topic, mode, events);
      const w = await consumeRound(topic, mode);
      if (round === 0) continue;
      results[mode].producer.us.push(p.us);
      results[mode].producer.perSec.push(p.perSec);
      results[mode].worker.us.push(w.us);
      results[mode].worker.perSec.push(w.perSec);
    }
    if (round > 0) say(`round ${round}: ${MODES.map((m) => `${m} ${results[m].producer.us.at(-1)!.toFixed(1)} / ${results[m].worker.us.at(-1)!.toFixed(1)} µs`).join(', ')} (load ${loadavg()[0]!.toFixed(1)})`);
  }
  const ratio = (m: Mode, side: 'producer' | 'worker', what: keyof Side) => median(results[m][side][what].map((x, i) => x / results.off[side][what][i]!));
  const added = (m: Mode, side: 'producer' | 'worker') => median(results[m][side].us.map((x, i) => x - results.off[side].us[i]!));
  const label = { off: 'both off (baseline)', hmac: 'HMAC-SHA256 + 1 field', ed25519: 'Ed25519 + 1 field' };
  const lines = [
    `${EVENTS} events of 1 KB + one 200-byte field (1.3.0 emitted, 2.0.0 handled) per mode and round, ${ROUNDS} rounds, modes interleaved; CPU µs per event (process user + system) and events/s (wall), medians; added and ratios are medians of per-round differences and ratios to both off; node ${process.version}, ${cpus().length} CPUs, load average ${loadAtStart} (start) and ${loadavg().map((l) => l.toFixed(1)).join(' / ')} (end), broker ${brokers}`,
    '',
    '| security | producer µs/event | added | producer events/s | throughput vs off | worker µs/event | added | worker events/s | throughput vs off |',
    '|---|---|---|---|---|---|---|---|---|',
    ...MODES.map((m) => {
      const p = results[m].producer;
      const w = results[m].worker;
      return `| ${label[m]} | ${median(p.us).toFixed(1)} | ${m === 'off' ? '-' : added(m, 'producer').toFixed(1)} | ${Math.round(median(p.perSec))} | ${ratio(m, 'producer', 'perSec').toFixed(2)}x | ${median(w.us).toFixed(1)} | ${m === 'off' ? '-' : added(m, 'worker').toFixed(1)} | ${Math.round(median(w.perSec))} | ${ratio(m, 'worker', 'perSec').toFixed(2)}x |`;
    }),
    '',
  ];
  process.stdout.write(lines.join('\n'));
} finally {
  await registryServer.close();
  await broker?.stop();
}
