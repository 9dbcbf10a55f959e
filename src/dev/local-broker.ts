import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { onexError, type OnexError } from '../errors/index.js';
import { createScramUsers, ensureBrokerTls, ensureClientCertificate, generateSecret, saslSslProperties, writeClientProperties, type MtlsListenerInfo, type SaslSslListenerOptions } from './broker-tls.js';
import { checkJava, javaBinary, resolveKafkaClasspath } from './kafka-install.js';
import { abandonNode, launchNode, PORTS_FILE, readBrokerState, readJson, STATE_FILE_NAME, waitUntilReady } from './kafka-node.js';
import { brokerAnswers, freePort, isAlive, isBrokerProcess, killAndWait, killQuietly, portIsFree } from './processes.js';
import type { EphemeralBroker, LocalBrokerInfo, LocalBrokerOptions, SaslSslInfo, StartResult, StatusResult, StopResult } from './types.js';

/**
 * A real Apache Kafka broker for local work and tests: KRaft mode, one node acting as broker and controller, run as a
 * child `java` process from Apache Kafka's own jars on Maven Central (deploy/local-kafka/pom.xml pins the version).
 *
 * State lives in the data dir: server.properties, the log dirs, broker.json (pid, ports) and the logs. The broker is
 * detached from the process that started it, so `onex kafka start` can return; `ownerPid` ties its life to a process
 * instead (the test harness, `onex dev`): a small watchdog stops the broker when that process is gone.
 */

export const DEFAULT_DATA_DIR = '.onex/kafka';
const STATE_FILE = STATE_FILE_NAME;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

export async function localBrokerStatus(dataDir = DEFAULT_DATA_DIR): Promise<StatusResult> {
  const state = readBrokerState(resolve(dataDir));
  if (!state || !isBrokerProcess(state.pid)) return { running: false, answering: false };
  return { running: true, answering: await brokerAnswers(state.bootstrap), info: state };
}
