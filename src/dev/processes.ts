import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import kafkajs from 'kafkajs';

/** Processes and ports on this machine: is a pid alive (and a broker), free ports, does a broker answer, stop a pid. */

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
