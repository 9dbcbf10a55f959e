import { spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import kafkajs from 'kafkajs';
import { onexError, type OnexError } from '../errors/index.js';
import { createScramUsers, ensureBrokerTls, ensureClientCertificate, generateSecret, saslSslProperties, writeClientProperties, type MtlsListenerInfo, type SaslMechanism, type SaslSslListenerOptions } from './broker-tls.js';

/**
 * A real Apache Kafka broker for local work and tests: KRaft mode, one node acting as broker and controller, run as a
 * child `java` process from Apache Kafka's own jars on Maven Central (deploy/local-kafka/pom.xml pins the version).
 *
 * State lives in the data dir: server.properties, the log dirs, broker.json (pid, ports) and the logs. The broker is
 * detached from the process that started it, so `onex kafka start` can return; `ownerPid` ties its life to a process
 * instead (the test harness, `onex dev`): a small watchdog stops the broker when that process is gone.
 */

export interface LocalBrokerOptions {
  /** Where the broker keeps its state. Default .onex/kafka. */
  dataDir?: string;
  /** Client port on 127.0.0.1; default: the port this data dir used last if free, else a free port. */
  port?: number;
  controllerPort?: number;
  /** Maximum broker heap. Default 1024 MiB. */
  heapMb?: number;
  /** How long one start attempt waits for the broker to answer metadata requests. Default 90 s. */
  readyTimeoutMs?: number;
  /** Start attempts (a slow or busy machine can lose a port race or time out). Default 3. */
  attempts?: number;
  /** When set, the broker is stopped as soon as this process exits. */
  ownerPid?: number;
  /** Extra or overriding server.properties entries. */
  properties?: Record<string, string>;
  /**
   * A SASL_SSL listener beside the PLAINTEXT one: certificates made for the run in <dataDir>/tls (src/dev/broker-tls.ts),
   * SCRAM-SHA-512 (default) or PLAIN users, and <dataDir>/tls/client.properties for the first user.
   */
  saslSsl?: SaslSslListenerOptions;
  pomPath?: string;
  /** Progress lines for a person (stderr in the CLI). */
  onProgress?: (line: string) => void;
}

export interface LocalBrokerInfo {
  pid: number;
  port: number;
  controllerPort: number;
  bootstrap: string;
  dataDir: string;
  logFile: string;
  kafkaVersion: string;
  startedAt: string;
  watchdogPid?: number;
  /** Set when the broker has a SASL_SSL listener. Holds no password (they are in clientProperties, mode 0600). */
  saslSsl?: SaslSslInfo;
}

export interface SaslSslInfo {
  port: number;
  bootstrap: string;
  mechanism: SaslMechanism;
  /** The CA that signed the broker certificate (PEM): what clients trust. */
  caFile: string;
  users: string[];
  /** Kafka client properties (security.protocol, sasl.mechanism, sasl.jaas.config, truststore) for the first user. */
  clientProperties: string;
  /** Set when asked for (saslSsl.mtls): the SSL listener that requires a client certificate, and the client's files. */
  mtls?: MtlsListenerInfo;
}

export interface StartResult {
  info: LocalBrokerInfo;
  /** True when a broker already running on this data dir was reused. */
  reused: boolean;
  /** Milliseconds from the call to a broker that answers (0 when reused). */
  startMs: number;
}

export const DEFAULT_DATA_DIR = '.onex/kafka';
const STATE_FILE = 'broker.json';
const PORTS_FILE = 'ports.json';

const here = dirname(fileURLToPath(import.meta.url));
/** src/kafka and dist/kafka are both two levels below the package root. */
export const STATE_FILE_NAME = STATE_FILE;
export const DEFAULT_POM = resolve(here, '../../deploy/local-kafka/pom.xml');

// ---------------------------------------------------------------------------------------------------------------
// Prerequisites and classpath

function javaBinary(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Throws ONEX_RT_403 with what to install when java is missing or older than 17 (Kafka 4 needs 17). */
export function checkJava(): number {
  const r = spawnSync(javaBinary(), ['-version'], { encoding: 'utf8' });
  if (r.error) {
    throw onexError(
      'ONEX_RT_403',
      'java was not found: install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME',
      { cause: r.error },
    );
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < 17) {
    throw onexError('ONEX_RT_403', `java ${major || 'of unknown version'} is too old: Apache Kafka 4 needs Java 17 or newer`);
  }
  return major;
}

/** Where the dev tools keep what they build or resolve once per machine (ONEX_CACHE_DIR, else the XDG cache). */
export function cacheDir(): string {
  return process.env.ONEX_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'onex-events');
}

/**
 * The broker's classpath. Maven resolves deploy/local-kafka/pom.xml once (downloading into ~/.m2 the first time);
 * the result is cached per pom content, so later starts run no Maven and need no network.
 */
export function resolveKafkaClasspath(pomPath = DEFAULT_POM, onProgress?: (line: string) => void): string {
  if (!existsSync(pomPath)) throw onexError('ONEX_RT_403', `the Kafka pom ${pomPath} is missing from this installation`);
  const pom = readFileSync(pomPath);
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const cacheFile = join(cacheDir(), `kafka-classpath-${key}.txt`);
  if (existsSync(cacheFile)) {
    const cp = readFileSync(cacheFile, 'utf8').trim();
    if (cp && cp.split(':').every((jar) => existsSync(jar))) return cp;
  }
  const which = spawnSync('mvn', ['--version'], { encoding: 'utf8' });
  if (which.error) {
    throw onexError(
      'ONEX_RT_403',
      'mvn was not found: install Maven (e.g. apt-get install maven) so the Kafka jars can be fetched from Maven Central once',
      { cause: which.error },
    );
  }
  onProgress?.('resolving Apache Kafka from Maven Central (first run only)...');
  mkdirSync(cacheDir(), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  const r = spawnSync('mvn', ['-B', '-q', '-f', pomPath, 'dependency:build-classpath', `-Dmdep.outputFile=${tmp}`], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  if (r.status !== 0 || !existsSync(tmp)) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw onexError('ONEX_RT_405', `Maven could not resolve the Kafka jars: ${tail || r.error?.message || 'no output'}`);
  }
  const cp = readFileSync(tmp, 'utf8').trim();
  writeFileSync(cacheFile, cp);
  rmSync(tmp, { force: true });
  return cp;
}

export function kafkaVersionOf(classpath: string): string {
  return /kafka_2\.13-([\w.-]+)\.jar/.exec(classpath)?.[1] ?? 'unknown';
}

// ---------------------------------------------------------------------------------------------------------------
// Processes and ports

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when pid is alive and is a Kafka broker (pids are recycled; never signal a stranger). */
export function isBrokerProcess(pid: number): boolean {
  if (!isAlive(pid)) return false;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('kafka.Kafka');
  } catch {
    return true; // no /proc (macOS): trust the liveness check
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
  });
}

export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolveFree) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', () => resolveFree(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolveFree(true)));
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** True when a broker at bootstrap answers a metadata request within timeoutMs. */
export async function brokerAnswers(bootstrap: string, timeoutMs = 2_000): Promise<boolean> {
  return brokersAnswer([bootstrap], timeoutMs, (count) => count > 0);
}

/**
 * True when the brokers answer a metadata request within timeoutMs with a controller and a broker count `enough`
 * accepts (any for one broker, all of them for a cluster).
 */
export async function brokersAnswer(bootstrap: string[], timeoutMs: number, enough: (brokers: number) => boolean): Promise<boolean> {
  const kafka = new kafkajs.Kafka({
    clientId: 'onex-readiness',
    brokers: bootstrap,
    connectionTimeout: Math.min(timeoutMs, 1_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: kafkajs.logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    return enough(cluster.brokers.length) && cluster.controller !== null;
  } catch {
    return false;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// State files

export function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export function readBrokerState(dataDir: string): LocalBrokerInfo | undefined {
  return readJson<LocalBrokerInfo>(join(resolve(dataDir), STATE_FILE));
}

/** Who a node is in its KRaft quorum: its id and the voters (`id@host:port,...`). One node by default. */
export interface NodeIdentity {
  nodeId: number;
  voters: string;
  /** Set on every node of a cluster, so they format their storage as members of one cluster. */
  clusterId?: string;
}

function serverProperties(dir: string, port: number, controllerPort: number, extra: Record<string, string>, node?: NodeIdentity): string {
  const props: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': String(node?.nodeId ?? 1),
    'controller.quorum.voters': node?.voters ?? `1@127.0.0.1:${controllerPort}`,
    listeners: `PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': join(dir, 'logs'),
    // One node: every internal topic has one replica (a cluster overrides these through `extra`).
    'offsets.topic.replication.factor': '1',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Fewer internal partitions: the first consumer group is ready in a fraction of the time on a small machine.
    'offsets.topic.num.partitions': '4',
    'transaction.state.log.num.partitions': '4',
    'group.initial.rebalance.delay.ms': '0',
    // Room above the producer's 1 MiB default event limit for batch overhead.
    'message.max.bytes': String(4 * 1024 * 1024),
    'num.partitions': '1',
    'auto.create.topics.enable': 'true',
    ...extra,
  };
  return `${Object.entries(props)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function log4jProperties(logFile: string): string {
  return [
    'status = warn',
    'appender.file.type = File',
    'appender.file.name = file',
    `appender.file.fileName = ${logFile}`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = file',
    'logger.kafka.name = kafka',
    'logger.kafka.level = info',
    'logger.apache.name = org.apache',
    'logger.apache.level = warn',
    '',
  ].join('\n');
}

/** Kafka cluster ids are 16 random bytes in URL-safe base64 without padding. */
export function newClusterId(): string {
  return randomBytes(16).toString('base64url');
}

function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

// ---------------------------------------------------------------------------------------------------------------
// start / stop / status

/**
 * Starts the broker and returns once it answers metadata requests. A broker already running on the data dir is
 * reused (`reused: true`), so starting twice is harmless. Retries start-up (fresh ports, longer wait) on a slow
 * machine; fails with ONEX_RT_403 (java/mvn missing), ONEX_RT_406 (requested port taken) or ONEX_RT_405.
 */
export async function startLocalBroker(options: LocalBrokerOptions = {}): Promise<StartResult> {
  const dataDir = resolve(options.dataDir ?? DEFAULT_DATA_DIR);
  mkdirSync(dataDir, { recursive: true });
  const release = await acquireStartLock(dataDir, (options.readyTimeoutMs ?? 90_000) * 4);
  try {
    return await startLocked(dataDir, options);
  } finally {
    release();
  }
}

/**
 * One `start` at a time per data dir: a second one waits here, then finds the first one's broker and reuses it.
 * A lock left by a dead process is taken over.
 */
export async function acquireStartLock(dataDir: string, timeoutMs: number): Promise<() => void> {
  const lock = join(dataDir, 'start.lock');
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(lock, { force: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(lock, 'utf8') || 0);
      if (!holder || !isAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw onexError('ONEX_RT_405', `another process (pid ${holder}) is still starting the broker on ${dataDir}`);
      await sleep(200);
    }
  }
}

async function startLocked(dataDir: string, options: LocalBrokerOptions): Promise<StartResult> {
  const t0 = Date.now();
  const progress = options.onProgress ?? (() => undefined);
  const running = readBrokerState(dataDir);
  if (running && isBrokerProcess(running.pid)) {
    if (options.port !== undefined && options.port !== running.port) {
      throw onexError(
        'ONEX_RT_406',
        `a broker already runs on ${dataDir} at ${running.bootstrap}; stop it first to start one on port ${options.port}`,
      );
    }
    // It may still be starting (another `start` is waiting on it): give it the same time to answer.
    if (await waitUntilReady(running.bootstrap, running.pid, options.readyTimeoutMs ?? 90_000)) {
      return { info: running, reused: true, startMs: 0 };
    }
    throw onexError('ONEX_RT_405', `the broker on ${dataDir} (pid ${running.pid}) runs but does not answer at ${running.bootstrap}; see ${running.logFile}`);
  }

  checkJava();
  const classpath = resolveKafkaClasspath(options.pomPath, progress);
  const attempts = options.attempts ?? 3;
  let lastError: OnexError | undefined;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      const readyTimeoutMs = (options.readyTimeoutMs ?? 90_000) * attempt;
      const info = await startOnce(dataDir, classpath, options, readyTimeoutMs, progress);
      return { info, reused: false, startMs: Date.now() - t0 };
    } catch (err) {
      lastError = err as OnexError;
      if (lastError.code === 'ONEX_RT_406') throw lastError; // the caller's port: retrying cannot help
      progress(`broker start attempt ${attempt}/${attempts} failed: ${lastError.message}`);
    }
  }
  throw lastError!;
}

async function choosePorts(dataDir: string, options: LocalBrokerOptions): Promise<{ port: number; controllerPort: number }> {
  if (options.port !== undefined && !(await portIsFree(options.port))) {
    throw onexError('ONEX_RT_406', `port ${options.port} on 127.0.0.1 is in use; choose another with --port or stop what listens there`);
  }
  const last = readJson<{ port: number; controllerPort: number }>(join(dataDir, PORTS_FILE));
  // Reusing the last ports lets clients of a restarted broker reconnect to the address they know.
  const port = options.port ?? (last && (await portIsFree(last.port)) ? last.port : await freePort());
  let controllerPort = options.controllerPort ?? (last && last.controllerPort !== port && (await portIsFree(last.controllerPort)) ? last.controllerPort : await freePort());
  while (controllerPort === port) controllerPort = await freePort();
  return { port, controllerPort };
}

async function startOnce(
  dataDir: string,
  classpath: string,
  options: LocalBrokerOptions,
  readyTimeoutMs: number,
  progress: (line: string) => void,
): Promise<LocalBrokerInfo> {
  const { port, controllerPort } = await choosePorts(dataDir, options);
  const secured = options.saslSsl ? await prepareSaslSsl(dataDir, port, controllerPort, options.saslSsl) : undefined;
  const properties = secured ? { ...secured.properties, ...options.properties } : options.properties;
  const info = launchNode(dataDir, classpath, { ...options, properties, port, controllerPort });
  progress(`starting Apache Kafka ${info.kafkaVersion} (pid ${info.pid}) on ${info.bootstrap}...`);
  if (!(await waitUntilReady(info.bootstrap, info.pid, readyTimeoutMs))) throw await abandonNode(info, readyTimeoutMs);
  if (!secured) return info;
  try {
    if (secured.info.mechanism === 'SCRAM-SHA-512') createScramUsers(javaBinary(), classpath, info.bootstrap, secured.users, dataDir);
  } catch (err) {
    await abandonNode(info, readyTimeoutMs);
    throw err;
  }
  const withTls = { ...info, saslSsl: secured.info };
  writeFileSync(join(dataDir, STATE_FILE), JSON.stringify(withTls, null, 2));
  progress(`SASL_SSL (${secured.info.mechanism}) listener on ${secured.info.bootstrap}; client settings in ${secured.info.clientProperties}`);
  const m = secured.info.mtls;
  if (m) progress(`mutual-TLS (SSL, client certificate required) listener on ${m.bootstrap}; client certificate ${m.certFile}, key ${m.keyFile}`);
  return withTls;
}

async function prepareSaslSsl(dataDir: string, port: number, controllerPort: number, o: SaslSslListenerOptions) {
  if (o.port !== undefined && (o.port === port || o.port === controllerPort || !(await portIsFree(o.port)))) {
    throw onexError('ONEX_RT_406', `port ${o.port} on 127.0.0.1 is in use; choose another with --sasl-ssl-port or stop what listens there`);
  }
  let saslPort = o.port ?? (await freePort());
  while (saslPort === port || saslPort === controllerPort) saslPort = await freePort();
  const mtlsAsked = typeof o.mtls === 'object' ? o.mtls.port : undefined;
  if (mtlsAsked !== undefined && ([port, controllerPort, saslPort].includes(mtlsAsked) || !(await portIsFree(mtlsAsked)))) {
    throw onexError('ONEX_RT_406', `port ${mtlsAsked} on 127.0.0.1 is in use; choose another for the mutual-TLS listener or stop what listens there`);
  }
  let mtlsPort = o.mtls ? (mtlsAsked ?? (await freePort())) : undefined;
  while (mtlsPort !== undefined && [port, controllerPort, saslPort].includes(mtlsPort)) mtlsPort = await freePort();
  const mechanism = o.mechanism ?? 'SCRAM-SHA-512';
  const users = o.users && Object.keys(o.users).length > 0 ? o.users : { onex: generateSecret() };
  const tls = ensureBrokerTls(join(dataDir, 'tls'));
  const bootstrap = `127.0.0.1:${saslPort}`;
  const [firstUser, firstPassword] = Object.entries(users)[0]!;
  const clientProperties = join(tls.dir, 'client.properties');
  writeClientProperties(clientProperties, bootstrap, mechanism, tls.caFile, firstUser, firstPassword);
  const mtls: MtlsListenerInfo | undefined =
    mtlsPort === undefined ? undefined : { port: mtlsPort, bootstrap: `127.0.0.1:${mtlsPort}`, ...ensureClientCertificate(tls.dir) };
  const info: SaslSslInfo = { port: saslPort, bootstrap, mechanism, caFile: tls.caFile, users: Object.keys(users), clientProperties, ...(mtls ? { mtls } : {}) };
  return { info, users, properties: saslSslProperties(port, controllerPort, saslPort, tls, mechanism, users, mtls) };
}

/** Stops a node that did not come up and turns what its logs say into ONEX_RT_405. */
export async function abandonNode(info: LocalBrokerInfo, readyTimeoutMs: number): Promise<OnexError> {
  const why = isAlive(info.pid) ? `it did not answer within ${Math.round(readyTimeoutMs / 1000)} s` : 'it exited';
  await killAndWait(info.pid, 10_000);
  if (info.watchdogPid) killQuietly(info.watchdogPid);
  rmSync(join(info.dataDir, STATE_FILE), { force: true });
  const detail = tail(join(info.dataDir, 'kafka.out'), 3) || tail(info.logFile, 3);
  return onexError('ONEX_RT_405', `the broker on ${info.bootstrap} failed to start: ${why}${detail ? ` (${detail.replace(/\n/g, ' | ')})` : ''}`);
}

export interface LaunchOptions extends Pick<LocalBrokerOptions, 'heapMb' | 'ownerPid' | 'properties'> {
  port: number;
  controllerPort: number;
  node?: NodeIdentity;
}

/**
 * Writes a node's configuration, formats its storage the first time and spawns its JVM, detached; returns at once,
 * without waiting for it to answer (the nodes of a quorum can only answer once a majority of them runs).
 */
export function launchNode(dataDir: string, classpath: string, options: LaunchOptions): LocalBrokerInfo {
  const { port, controllerPort } = options;
  const propsFile = join(dataDir, 'server.properties');
  const logFile = join(dataDir, 'server.log');
  const outFile = join(dataDir, 'kafka.out');
  const log4jFile = join(dataDir, 'log4j2.properties');
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(propsFile, serverProperties(dataDir, port, controllerPort, options.properties ?? {}, options.node));
  writeFileSync(log4jFile, log4jProperties(logFile));
  writeFileSync(join(dataDir, PORTS_FILE), JSON.stringify({ port, controllerPort }));

  const jvmLog = [`-Dlog4j2.configurationFile=${log4jFile}`];
  const logDir = options.properties?.['log.dirs'] ?? join(dataDir, 'logs');
  if (!existsSync(join(logDir, 'meta.properties'))) {
    const id = options.node?.clusterId ?? newClusterId();
    const fmt = spawnSync(javaBinary(), ['-Xmx256m', ...jvmLog, '-cp', classpath, 'kafka.tools.StorageTool', 'format', '-t', id, '-c', propsFile], {
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (fmt.status !== 0) {
      throw onexError('ONEX_RT_405', `formatting the KRaft storage failed: ${`${fmt.stderr}${fmt.stdout}`.trim().split('\n').slice(-2).join(' | ')}`);
    }
  }

  const heap = options.heapMb ?? 1024;
  const out = openSync(outFile, 'a');
  const child = spawn(
    javaBinary(),
    [
      `-Xmx${heap}m`,
      `-Xms${Math.min(heap, 256)}m`,
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-Djava.awt.headless=true',
      ...jvmLog,
      '-cp',
      classpath,
      'kafka.Kafka',
      propsFile,
    ],
    { detached: true, stdio: ['ignore', out, out] },
  );
  closeSync(out);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw onexError('ONEX_RT_405', 'java could not be started');

  const info: LocalBrokerInfo = {
    pid,
    port,
    controllerPort,
    bootstrap: `127.0.0.1:${port}`,
    dataDir,
    logFile,
    kafkaVersion: kafkaVersionOf(classpath),
    startedAt: new Date().toISOString(),
  };
  if (options.ownerPid !== undefined) info.watchdogPid = spawnWatchdog(options.ownerPid, pid, dataDir);
  writeFileSync(join(dataDir, STATE_FILE), JSON.stringify(info, null, 2));
  return info;
}

export async function waitUntilReady(bootstrap: string, pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return false;
    if (await brokerAnswers(bootstrap)) return true;
    await sleep(250);
  }
  return false;
}

/**
 * A detached node process that stops the broker when the owner process is gone, so a test run or `onex dev` that
 * dies abruptly leaves no broker behind.
 */
function spawnWatchdog(ownerPid: number, brokerPid: number, dataDir: string): number | undefined {
  const script = `
    const fs = require('fs');
    const alive = (p) => { try { process.kill(p, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
    const [owner, broker, state] = [${ownerPid}, ${brokerPid}, ${JSON.stringify(join(dataDir, STATE_FILE))}];
    const timer = setInterval(() => {
      if (!alive(broker)) { clearInterval(timer); return; }
      if (alive(owner)) return;
      clearInterval(timer);
      try { process.kill(broker, 'SIGTERM'); } catch {}
      const t0 = Date.now();
      const wait = setInterval(() => {
        if (!alive(broker)) { clearInterval(wait); try { fs.rmSync(state, { force: true }); } catch {} return; }
        if (Date.now() - t0 > 20000) { try { process.kill(broker, 'SIGKILL'); } catch {} }
      }, 200);
    }, 500);`;
  const child = spawn(process.execPath, ['-e', script], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid;
}

export function killQuietly(pid: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* already gone */
  }
}

export async function killAndWait(pid: number, timeoutMs: number): Promise<boolean> {
  killQuietly(pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(100);
  if (isAlive(pid)) {
    killQuietly(pid, 'SIGKILL');
    while (isAlive(pid)) await sleep(50);
    return false;
  }
  return true;
}

export interface StopResult {
  /** False when no broker was running on the data dir. */
  stopped: boolean;
  /** False when the broker ignored SIGTERM for timeoutMs and was killed. */
  clean: boolean;
  pid?: number;
}

/** Stops the broker of the data dir (SIGTERM, controlled shutdown; SIGKILL after timeoutMs) and its watchdog. */
export async function stopLocalBroker(dataDir = DEFAULT_DATA_DIR, timeoutMs = 30_000): Promise<StopResult> {
  const dir = resolve(dataDir);
  const state = readBrokerState(dir);
  if (!state) return { stopped: false, clean: true };
  if (state.watchdogPid) killQuietly(state.watchdogPid);
  if (!isBrokerProcess(state.pid)) {
    rmSync(join(dir, STATE_FILE), { force: true });
    return { stopped: false, clean: true, pid: state.pid };
  }
  const clean = await killAndWait(state.pid, timeoutMs);
  rmSync(join(dir, STATE_FILE), { force: true });
  return { stopped: true, clean, pid: state.pid };
}

export interface EphemeralBroker {
  info: LocalBrokerInfo;
  startMs: number;
  /** Stops the broker and removes its data dir. */
  stop(): Promise<void>;
}

/**
 * A throwaway broker for one process (the test run, `onex dev`, a benchmark): a temporary data dir, its life tied to
 * this process by the watchdog, and one stop() that stops it and removes the data dir, also when start-up fails.
 */
export async function startEphemeralBroker(
  options: Omit<LocalBrokerOptions, 'dataDir' | 'ownerPid'> & { prefix?: string } = {},
): Promise<EphemeralBroker> {
  const { prefix = 'onex-kafka-', ...rest } = options;
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const stop = async () => {
    await stopLocalBroker(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const { info, startMs } = await startLocalBroker({ ...rest, dataDir, ownerPid: process.pid });
    return { info, startMs, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface StatusResult {
  running: boolean;
  /** True when the broker answered a metadata request just now. */
  answering: boolean;
  info?: LocalBrokerInfo;
}

export async function localBrokerStatus(dataDir = DEFAULT_DATA_DIR): Promise<StatusResult> {
  const state = readBrokerState(resolve(dataDir));
  if (!state || !isBrokerProcess(state.pid)) return { running: false, answering: false };
  return { running: true, answering: await brokerAnswers(state.bootstrap), info: state };
}
