import { fileURLToPath } from 'node:url';
import type { Admin, Kafka, Producer } from 'kafkajs';
import client from 'prom-client';
import { OnexEventCodec, registryFromUrl } from '../../codec/index.js';
import { onexError, type OnexError } from '../../errors/index.js';
import { SCHEMA_VERSIONS, type OnexEventType, type SchemaVersion } from '../../event/index.js';
import { brokerAnswers, startEphemeralBroker, SyntheticEvents } from '../../dev/index.js';
import { createKafka, ensureTopics, splitBrokers } from '../../kafka/index.js';
import { OnexProducer } from '../../producer/index.js';
import { startRegistry, type RunningRegistry } from '../../registry/index.js';
import { startMetricsServer, startProfiler } from '../../telemetry/index.js';
import type { MetricsServer } from '../../telemetry/types.js';
import { TRACE_EXPORT_FAILURES } from '../../telemetry/internal.js';
import { startInspectServer } from '../../inspect/index.js';
import { createCorrelationIndex } from '../../processors/correlation/index.js';
import { createAlertProcessor, loadRules, readRuleFile, type AlertTransition } from '../../processors/alerting/index.js';
import { flags as featureFlags } from '../../flags/index.js';
import { createWorker, type Worker } from '../../worker/index.js';
import type { DevAlerts, DevSnapshot } from './view.js';

export interface DevOptions {
  /** Events per second the demo load aims at (all versions together). */
  rate: number;
  registryPort: number;
  metricsPort: number;
  /** The version the demo handlers receive. */
  targetVersion: SchemaVersion;
  /** One in this many events carries a large (over 10 KB) payload, so the LZ4 lane is used. */
  largeEvery: number;
  /** One raw poison record (not wire format) per this many events, so the dead-letter path is shown. 0: none. */
  poisonEvery: number;
  /** When set, the session profiles itself (handlers, emits) and emits PERFORMANCE_PROFILE events to this topic. */
  profileTopic?: string;
  /** The profiler's window, ms. */
  profileWindow?: number;
  /** When set, the session indexes its topic (correlation index) and serves the inspect page on this port (0: free). */
  inspectPort?: number;
  /** An existing cluster named on the command line (-b); else KAFKA_BROKERS; else the session starts a local broker. */
  bootstrapServer?: string;
  /** Run alert rules on the demo topic (default true); off with --no-alerts or the flag onex.alerts.enabled. */
  alerts?: boolean;
  /** The rule file; default the shipped alerts/dev-rules.yaml (DEV_RULES_FILE). */
  alertRules?: string;
  say: (line: string) => void;
}

/** The default rules of `onex dev`, a file shipped in the package (alerts/dev-rules.yaml at its root). */
export const DEV_RULES_FILE = fileURLToPath(new URL('../../../alerts/dev-rules.yaml', import.meta.url));

/** The demo's alerts: transitions so far, and the alerts firing now. */
/** Per-type sampling of the demo: chatty types are sampled, failures never are (the producer always keeps them). */
export const DEMO_SAMPLING: Partial<Record<OnexEventType, number>> = {
  STRUCTURED_LOG: 0.5,
  TELEMETRY_OPERATION_START: 0.5,
  TELEMETRY_OPERATION_SUCCESS: 0.5,
};

const SAMPLE_RATE_SINCE = new Set<SchemaVersion>(['1.2.0', '1.3.0', '2.0.0']);

export interface DevSummary {
  seconds: number;
  /** Events the producers accepted: sent to Kafka or sampled out. */
  produced: number;
  sampled_out: number;
  rejected: number;
  consumed: number;
  dead_lettered: number;
  poison_injected: number;
  produced_by_version: Record<string, number>;
  consumed_by_version: Record<string, number>;
  dead_lettered_by_code: Record<string, number>;
  /** consumed === produced - sampled_out, and dead_lettered === poison_injected. */
  balanced: boolean;
  /** The alert rules' transitions and what fired last; null when alerts were off. */
  alerts: DevAlerts | null;
}

const inc = (m: Record<string, number>, k: string, by = 1) => {
  m[k] = (m[k] ?? 0) + by;
};

/**
 * Everything `onex dev` runs, started and stopped in order: broker (local unless KAFKA_BROKERS), registry on the
 * broker, /metrics, a worker with demo handlers, one producer per schema version emitting synthetic flows.
 */
export class DevSession {
  private readonly stops: Array<[string, () => Promise<void>]> = [];
  private brokers = '';
  private registry?: RunningRegistry;
  private metrics?: MetricsServer;
  private kafka?: Kafka;
  private admin?: Admin;
  private worker?: Worker;
  private producers = new Map<SchemaVersion, OnexProducer>();
  private raw?: Producer;
  private topic = '';
  private startedAt = Date.now();
  private loadTimer?: NodeJS.Timeout;
  private inFlight = 0;
  private emitted = 0;
  private lag = 0;
  private readonly counts = {
    produced: 0,
    sampledOut: 0,
    rejected: 0,
    consumed: 0,
    poison: 0,
    producedByVersion: {} as Record<string, number>,
    consumedByVersion: {} as Record<string, number>,
    deadByCode: {} as Record<string, number>,
  };
  private firstRejection?: OnexError;
  private alertState?: { groupId: string; rules: number; topic: string; transitions: DevAlerts['transitions']; firing: Map<string, DevAlerts['firing'][number] & { fingerprint: string }> };

  constructor(private readonly options: DevOptions) {}

  async start(): Promise<void> {
    const { say } = this.options;
    await this.startBroker();
    this.kafka = createKafka({ brokers: this.brokers, clientId: 'onex-dev' });
    this.admin = this.kafka.admin();
    await this.admin.connect();
    this.stops.push(['admin', () => this.admin!.disconnect()]);

    this.registry = await startRegistry({
      port: this.options.registryPort,
      store: { kind: 'kafka', brokers: splitBrokers(this.brokers) },
    }).catch((err: OnexError) => {
      throw err.code === 'ONEX_RT_406'
        ? onexError('ONEX_RT_406', `port ${this.options.registryPort} is in use, so the schema registry cannot listen there; pass --registry-port 0 for a free port`)
        : err;
    });
    this.stops.push(['registry', () => this.registry!.close()]);
    say(`schema registry at ${this.registry.url} (${this.registry.store})`);

    const metricsRegistry = new client.Registry();
    // --otlp-endpoint started the SDK before this session, counting export failures in the global registry; the
    // session serves a registry of its own, so the counter is registered there as well.
    const exportFailures = client.register.getSingleMetric(TRACE_EXPORT_FAILURES);
    if (exportFailures) metricsRegistry.registerMetric(exportFailures);
    this.metrics = await startMetricsServer({ port: this.options.metricsPort, registries: [metricsRegistry] }).catch((err: OnexError) => {
      throw err.code === 'ONEX_RT_406'
        ? onexError('ONEX_RT_406', `port ${this.options.metricsPort} is in use, so /metrics cannot listen there; pass --metrics-port 0 for a free port`)
        : err;
    });
    this.stops.push(['metrics', () => this.metrics!.close()]);

    // A topic of its own per run: the summary counts exactly this run's events, even on a shared KAFKA_BROKERS.
    this.topic = `onex.dev.${Date.now()}`;
    await ensureTopics(this.admin, [
      { topic: this.topic, partitions: 3 },
      { topic: `${this.topic}.dlq`, partitions: 1 },
    ]);

    const codec = new OnexEventCodec({ registry: registryFromUrl(this.registry.url) });
    this.worker = createWorker({
      kafka: this.kafka,
      groupId: `${this.topic}.worker`,
      topics: this.topic,
      decoder: codec,
      targetVersion: this.options.targetVersion,
      fromBeginning: true,
      metricsRegistry,
      retry: { maxAttempts: 2, initialBackoffMs: 50 },
      handlers: {
        '*': (_event, ctx) => {
          inc(this.counts.consumedByVersion, ctx.writerVersion);
          this.counts.consumed++;
        },
      },
      onFailure: (failure) => inc(this.counts.deadByCode, failure.error.code),
    });
    await this.worker.start();
    this.stops.push(['worker', () => this.worker!.stop()]);
    await this.worker.joined();

    // Registered before the first start: if a later producer fails to start, the ones already started still close.
    this.stops.push(['producers', async () => void (await Promise.all([...this.producers.values()].map((p) => p.close())))]);
    for (const version of SCHEMA_VERSIONS) {
      const producer = new OnexProducer({
        kafka: this.kafka,
        topic: this.topic,
        schemaVersion: version,
        codec,
        metricsRegistry,
        // 1.0.0 and 1.1.0 have no sample_rate field, so their sampled counts could not be re-weighted downstream.
        sampling: SAMPLE_RATE_SINCE.has(version) ? { rates: DEMO_SAMPLING } : { enabled: false },
      });
      await producer.start();
      this.producers.set(version, producer);
    }
    if (this.options.profileTopic) await this.startProfiling(this.options.profileTopic, codec, metricsRegistry);
    if (this.options.inspectPort !== undefined) await this.startInspect(this.options.inspectPort, codec, metricsRegistry);
    if (this.options.alerts !== false && featureFlags.isEnabled('onex.alerts.enabled', true)) await this.startAlerts(codec, metricsRegistry);
    this.raw = this.kafka.producer();
    await this.raw.connect();
    this.stops.push(['poison producer', () => this.raw!.disconnect()]);
  }

  /** A profiler for the whole session, emitting 1.3.0 PERFORMANCE_PROFILE events to a topic of their own. */
  private async startProfiling(topic: string, codec: OnexEventCodec, metricsRegistry: client.Registry): Promise<void> {
    await ensureTopics(this.admin!, [{ topic, partitions: 1 }]);
    const producer = new OnexProducer({ kafka: this.kafka!, topic, schemaVersion: '1.3.0', codec, metricsRegistry, sampling: { enabled: false } });
    await producer.start();
    this.stops.push(['profile producer', () => producer.close()]);
    const profiler = startProfiler({ emit: (e) => producer.emit(e), nodeId: `onex_dev-${process.pid}`, windowMs: this.options.profileWindow });
    // Closed before its producer (stops run in reverse): the last window is emitted while the producer still runs.
    this.stops.push(['profiler', () => profiler.close()]);
    this.options.say(`profiling to ${topic} every ${profiler.windowMs / 1000} s (watch it with: onex profile --topic ${topic})`);
  }

  /** The correlation index on the session's topic and the inspect server over it (docs/inspect.md). */
  private async startInspect(port: number, codec: OnexEventCodec, metricsRegistry: client.Registry): Promise<void> {
    const indexTopic = `${this.topic}.correlations`;
    const index = createCorrelationIndex({ kafka: this.kafka!, groupId: `${this.topic}.correlations`, topic: this.topic!, indexTopic, decoder: codec, fromBeginning: true,
      // Its own dead-letter topic and metrics: the demo's dead letters and onex_worker_* stay the demo worker's.
      deadLetterTopic: `${indexTopic}.dlq`, metricsRegistry: new client.Registry(),
    });
    await index.start();
    this.stops.push(['correlation index', () => index.stop()]);
    const server = await startInspectServer({ kafka: this.kafka!, decoder: codec, topic: this.topic!, indexTopic, indexGroup: `${this.topic}.correlations`, port, metricsRegistry });
    this.stops.push(['inspect', () => server.close()]);
    this.options.say(`inspect page at ${server.url}/flows/<correlation-id> (index ${indexTopic})`);
  }

  /**
   * The alert processor on the demo topic (docs/alerting.md): ALERT events to a topic of the run's own, the onex_alerts
   * gauge on /metrics, and the firing alerts in the live view and the summary.
   */
  private async startAlerts(codec: OnexEventCodec, metricsRegistry: client.Registry): Promise<void> {
    const file = this.options.alertRules ?? DEV_RULES_FILE;
    const { rules } = loadRules(readRuleFile(file), file);
    const topic = `${this.topic}.alerts`;
    await ensureTopics(this.admin!, [{ topic, partitions: 1 }]);
    await codec.prepare('2.0.0');
    const state = { groupId: `${this.topic}.alerts`, rules: rules.length, topic, transitions: {} as DevAlerts['transitions'], firing: new Map<string, DevAlerts['firing'][number] & { fingerprint: string }>() };
    this.alertState = state;
    const onTransition = (t: AlertTransition) => {
      const counts = (state.transitions[t.rule] ??= { pending: 0, firing: 0, resolved: 0 });
      counts[t.state]++;
      if (t.state === 'firing') state.firing.set(t.alertId, { rule: t.rule, key: t.key, since: new Date(t.at).toISOString(), fingerprint: t.fingerprint });
      if (t.state === 'resolved') state.firing.delete(t.alertId);
    };
    const proc = createAlertProcessor({
      kafka: this.kafka!, groupId: state.groupId, topic: this.topic, decoder: codec, rules, alertsTopic: topic,
      encode: (e) => codec.encode(e, '2.0.0'), fromBeginning: true, metricsRegistry, onTransition,
      // Its own dead-letter topic: the demo's poison records stay dead-lettered once, by the demo worker.
      deadLetterTopic: `${topic}.dlq`,
    });
    await proc.start();
    this.stops.push(['alerts', () => proc.stop()]);
    this.options.say(`alerts: ${rules.length} rules from ${file} on ${this.topic}, ALERT events to ${topic}`);
  }

  private alertsNow(): DevAlerts | null {
    const a = this.alertState;
    if (!a) return null;
    // Rules are evaluated per input partition, so one rule and key can fire in several partitions: shown once.
    const firing = new Map<string, DevAlerts['firing'][number]>();
    for (const { fingerprint, ...f } of a.firing.values()) if (!firing.has(fingerprint)) firing.set(fingerprint, f);
    return { rules: a.rules, topic: a.topic, transitions: structuredClone(a.transitions), firing: [...firing.values()] };
  }

  private async startBroker(): Promise<void> {
    const { say } = this.options;
    const named = this.options.bootstrapServer;
    if (named !== undefined || process.env.KAFKA_BROKERS) {
      this.brokers = named ?? process.env.KAFKA_BROKERS!;
      if (!(await brokerAnswers(splitBrokers(this.brokers)[0]!, 5_000))) {
        throw named !== undefined
          ? onexError('ONEX_EVENT_600', `--bootstrap-server ${this.brokers} does not answer; start that cluster, or leave out --bootstrap-server to run a local broker`)
          : onexError('ONEX_EVENT_600', `KAFKA_BROKERS=${this.brokers} does not answer; start that cluster, or unset KAFKA_BROKERS to run a local broker`);
      }
      say(`using the Kafka cluster at ${this.brokers}`);
      return;
    }
    const broker = await startEphemeralBroker({ prefix: 'onex-dev-kafka-', onProgress: say });
    this.brokers = broker.info.bootstrap;
    say(`Apache Kafka ${broker.info.kafkaVersion} ready at ${this.brokers} in ${(broker.startMs / 1000).toFixed(1)} s`);
    this.stops.push(['broker', broker.stop]);
  }

  /** Starts the demo load: every 50 ms, rate/20 events spread over the versions. */
  startLoad(): void {
    this.startedAt = Date.now();
    const generators = new Map(
      SCHEMA_VERSIONS.map((v, i) => [v, { normal: new SyntheticEvents({ versions: [v], seed: 1 + i }), large: new SyntheticEvents({ versions: [v], seed: 100 + i, sizeBytes: 16_000 }) }]),
    );
    const perTick = Math.max(1, Math.round(this.options.rate / 20));
    let carry = 0;
    this.loadTimer = setInterval(() => {
      // Back-pressure: while the producers still hold a second's worth, skip a tick rather than buffer without end.
      if (this.inFlight > this.options.rate) return;
      carry += perTick;
      for (; carry >= 1; carry--) {
        const version = SCHEMA_VERSIONS[this.emitted % SCHEMA_VERSIONS.length]!;
        this.emitted++;
        const g = generators.get(version)!;
        const { event } = (this.options.largeEvery > 0 && this.emitted % this.options.largeEvery === 0 ? g.large : g.normal).next();
        this.emitOne(version, event);
        if (this.options.poisonEvery > 0 && this.emitted % this.options.poisonEvery === 0) void this.sendPoison();
      }
    }, 50);
  }

  private emitOne(version: SchemaVersion, event: object): void {
    this.inFlight++;
    this.producers
      .get(version)!
      .emit(event)
      .then(
        (r) => {
          // Produced: every event the producer accepted, whether it went to Kafka or was sampled out.
          this.counts.produced++;
          inc(this.counts.producedByVersion, version);
          if (r.status === 'sampled_out') this.counts.sampledOut++;
        },
        (err: OnexError) => {
          this.counts.rejected++;
          this.firstRejection ??= err;
        },
      )
      .finally(() => this.inFlight--);
  }

  /** A record that is not in the wire format: the worker dead-letters it with ONEX_EVENT_604 and goes on. */
  private async sendPoison(): Promise<void> {
    this.counts.poison++;
    await this.raw!.send({ topic: this.topic, messages: [{ key: 'poison', value: Buffer.from('{"not":"wire format"}') }] });
  }

  async refreshLag(): Promise<void> {
    if (!this.admin || !this.worker) return;
    try {
      const [ends, committed] = await Promise.all([
        this.admin.fetchTopicOffsets(this.topic),
        this.admin.fetchOffsets({ groupId: this.worker.groupId, topics: [this.topic] }),
      ]);
      const done = new Map(committed[0]?.partitions.map((p) => [p.partition, Number(p.offset)]) ?? []);
      this.lag = ends.reduce((sum, p) => sum + Math.max(0, Number(p.high) - Math.max(0, done.get(p.partition) ?? 0)), 0);
    } catch {
      /* the view keeps the last value; lag is informational */
    }
  }

  /** Whether a group has committed every partition of the demo topic up to its end. */
  private async caughtUp(groupId: string): Promise<boolean> {
    try {
      const [ends, committed] = await Promise.all([
        this.admin!.fetchTopicOffsets(this.topic),
        this.admin!.fetchOffsets({ groupId, topics: [this.topic] }),
      ]);
      const done = new Map(committed[0]?.partitions.map((p) => [p.partition, BigInt(p.offset)]) ?? []);
      return ends.every((p) => (done.get(p.partition) ?? -1n) >= BigInt(p.high));
    } catch {
      return false;
    }
  }

  private get deadLettered(): number {
    return Object.values(this.counts.deadByCode).reduce((a, b) => a + b, 0);
  }

  snapshot(): DevSnapshot {
    return {
      elapsedMs: Date.now() - this.startedAt,
      produced: this.counts.produced,
      sampledOut: this.counts.sampledOut,
      rejected: this.counts.rejected,
      consumed: this.counts.consumed,
      deadLettered: this.deadLettered,
      byVersion: { ...this.counts.consumedByVersion },
      lag: this.lag,
      brokers: this.brokers,
      registryUrl: this.registry?.url ?? '-',
      metricsUrl: this.metrics?.url ?? '-',
      alerts: this.alertsNow(),
    };
  }

  /**
   * Stops in order: the load, then the producers (flush: everything accepted is delivered), then waits for the worker
   * to handle what was delivered, then the worker (commit), registry, /metrics and the broker it started.
   */
  async stop(drainTimeoutMs = 60_000): Promise<DevSummary> {
    const { say } = this.options;
    if (this.loadTimer) clearInterval(this.loadTimer);
    const deadline = Date.now() + drainTimeoutMs;
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await Promise.all([...this.producers.values()].map((p) => p.flush().catch(() => undefined)));
    say('load stopped; waiting for the worker to handle everything delivered...');
    const expected = () => this.counts.produced - this.counts.sampledOut + this.counts.poison;
    while (this.counts.consumed + this.deadLettered < expected() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    // The alert rules see the same records: the summary's transitions count once the alert processor has committed
    // the whole demo topic too (on a new broker its group joins seconds after the worker's).
    if (this.alertState) {
      say('waiting for the alert rules to evaluate everything delivered...');
      while (!(await this.caughtUp(this.alertState.groupId)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    }
    const summary = this.summary();
    await this.close();
    return summary;
  }

  /** Stops whatever was started, in reverse order; never throws (a failure is reported and the rest still stops). */
  async close(): Promise<void> {
    for (const [name, stop] of this.stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        this.options.say(`stopping the ${name} failed: ${(err as Error).message}`);
      }
    }
    this.stops.length = 0;
  }

  summary(): DevSummary {
    const s = this.snapshot();
    return {
      seconds: Math.round(s.elapsedMs / 100) / 10,
      produced: s.produced,
      sampled_out: s.sampledOut,
      rejected: s.rejected,
      consumed: s.consumed,
      dead_lettered: s.deadLettered,
      poison_injected: this.counts.poison,
      produced_by_version: { ...this.counts.producedByVersion },
      consumed_by_version: { ...this.counts.consumedByVersion },
      dead_lettered_by_code: { ...this.counts.deadByCode },
      balanced: s.consumed === s.produced - s.sampledOut && s.deadLettered === this.counts.poison,
      alerts: s.alerts,
    };
  }

  get rejection(): OnexError | undefined {
    return this.firstRejection;
  }
}
