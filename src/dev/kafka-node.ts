import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { onexError, type OnexError } from '../errors/index.js';
import { javaBinary, kafkaVersionOf } from './kafka-install.js';
import { brokerAnswers, isAlive, killAndWait, killQuietly } from './processes.js';
import type { LocalBrokerInfo, LocalBrokerOptions } from './types.js';

/**
 * One KRaft node (broker and controller in one JVM) in its data dir, as the single local broker and each node of the
 * local cluster run it: its files (server.properties, log4j2.properties, broker.json with pid and ports, ports.json),
 * its storage formatted once, its detached JVM with a watchdog tied to an owner process, and its readiness.
 */

export const STATE_FILE_NAME = 'broker.json';
const STATE_FILE = STATE_FILE_NAME;
export const PORTS_FILE = 'ports.json';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

export function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
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
