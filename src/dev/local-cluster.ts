import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { defaultReplication } from '../kafka/index.js';
import { onexError } from '../errors/index.js';
import { checkJava, resolveKafkaClasspath } from './kafka-install.js';
import { abandonNode, launchNode, newClusterId, readBrokerState, readJson, STATE_FILE_NAME } from './kafka-node.js';
import { acquireStartLock } from './local-broker.js';
import { brokerAnswers, brokersAnswer, freePort, isAlive, isBrokerProcess, killAndWait, killQuietly, portIsFree } from './processes.js';
import type { LocalBrokerInfo, LocalBrokerOptions } from './types.js';

/**
 * A local Apache Kafka cluster of N KRaft nodes on 127.0.0.1, each a child `java` process of the same jars as the
 * single broker (kafka-node.ts: one node, as local-broker.ts runs it), each in its own data dir `<dataDir>/node-<id>`.
 *
 * Every node is both broker and controller ("combined mode"), so the controller quorum is the N nodes: three nodes
 * keep a metadata majority and two data replicas when any one of them dies or hangs, with three JVMs. One controller
 * and three brokers would need a fourth JVM and would make the controller a single point of failure (a fault test
 * that kills "a broker" could never kill the controller's host without stopping all metadata changes); Kafka itself
 * advises against combined mode only for large production clusters, where broker load would starve the controller.
 */

export interface LocalClusterOptions extends Pick<LocalBrokerOptions, 'heapMb' | 'ownerPid' | 'pomPath' | 'onProgress'> {
  /** Default .onex/kafka (the nodes live in node-1, node-2, ...). */
  dataDir?: string;
  /** Nodes in the cluster, 2 to 9. Default 3. */
  nodes?: number;
  /** How long start-up waits for every node to be an unfenced broker. Default 180 s. */
  readyTimeoutMs?: number;
  /** server.properties entries for every node. */
  properties?: Record<string, string>;
  /** server.properties entries for one node, e.g. its own `log.dirs` on a small file system. */
  nodeProperties?: Record<number, Record<string, string>>;
}

export interface ClusterNode {
  nodeId: number;
  port: number;
  controllerPort: number;
  dataDir: string;
}

export interface LocalClusterInfo {
  clusterId: string;
  /** Every node's client address, comma separated. */
  bootstrap: string;
  nodes: ClusterNode[];
  voters: string;
  kafkaVersion: string;
  /** Settings of every node and of single nodes, kept so that a node restarts exactly as it started. */
  properties: Record<string, string>;
  nodeProperties: Record<number, Record<string, string>>;
  heapMb: number;
}

const CLUSTER_FILE = 'cluster.json';

export function readClusterState(dataDir: string): LocalClusterInfo | undefined {
  return readJson<LocalClusterInfo>(join(resolve(dataDir), CLUSTER_FILE));
}

/** What every node of an N-node cluster sets: internal topics replicated like the pipeline's own (defaultReplication). */
export function clusterProperties(nodes: number): Record<string, string> {
  const { replicationFactor, minInsyncReplicas } = defaultReplication(nodes);
  const rf = String(replicationFactor);
  const isr = String(minInsyncReplicas);
  return {
    'offsets.topic.replication.factor': rf,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': isr,
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': isr,
    // Topics auto-created by the broker (not by the pipeline, which always says) get the same safe default.
    'default.replication.factor': rf,
    'min.insync.replicas': isr,
    // A replica that stops fetching (a frozen broker) leaves the ISR after 10 s rather than 30 s, so a hung broker
    // holds acks=all writes for at most that long.
    'replica.lag.time.max.ms': '10000',
  };
}

async function nodePorts(dataDir: string, nodes: number): Promise<Array<{ port: number; controllerPort: number }>> {
  const last = readClusterState(dataDir);
  const taken = new Set<number>();
  const pick = async (wanted: number | undefined): Promise<number> => {
    if (wanted !== undefined && !taken.has(wanted) && (await portIsFree(wanted))) {
      taken.add(wanted);
      return wanted;
    }
    for (;;) {
      const p = await freePort();
      if (!taken.has(p)) {
        taken.add(p);
        return p;
      }
    }
  };
  const out: Array<{ port: number; controllerPort: number }> = [];
  for (let i = 0; i < nodes; i++) {
    const prev = last?.nodes[i];
    out.push({ port: await pick(prev?.port), controllerPort: await pick(prev?.controllerPort) });
  }
  return out;
}

/** True when every node runs and the cluster reports all of them as (unfenced) brokers with a controller. */
export async function clusterAnswers(info: LocalClusterInfo, timeoutMs = 3_000): Promise<boolean> {
  for (const n of info.nodes) if (!(await brokerAnswers(`127.0.0.1:${n.port}`, timeoutMs))) return false;
  return brokersAnswer(info.bootstrap.split(','), timeoutMs, (count) => count === info.nodes.length);
}

async function waitForCluster(info: LocalClusterInfo, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await clusterAnswers(info)) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

export interface ClusterStartResult {
  info: LocalClusterInfo;
  reused: boolean;
  startMs: number;
}

/**
 * Starts the cluster of the data dir (all nodes at once: a quorum member can only answer once a majority runs) and
 * returns when every node is a broker the cluster reports. A cluster already running there is reused; nodes of it
 * that are down are started again. Fails with ONEX_RT_403 (java/mvn missing) or ONEX_RT_405.
 */
export async function startLocalCluster(options: LocalClusterOptions = {}): Promise<ClusterStartResult> {
  const t0 = Date.now();
  const dataDir = resolve(options.dataDir ?? '.onex/kafka');
  const nodes = options.nodes ?? 3;
  if (!Number.isInteger(nodes) || nodes < 2 || nodes > 9) {
    throw onexError('ONEX_RT_407', `invalid cluster option nodes: ${nodes} is not a whole number from 2 to 9 (one node is \`onex kafka start\` without --nodes)`);
  }
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  const progress = options.onProgress ?? (() => undefined);
  mkdirSync(dataDir, { recursive: true });
  if (readBrokerState(dataDir)) {
    throw onexError('ONEX_RT_406', `a single broker already uses ${dataDir}; stop it or choose another --data-dir for a cluster`);
  }
  const release = await acquireStartLock(dataDir, readyTimeoutMs * 2);
  try {
    const previous = readClusterState(dataDir);
    if (previous && previous.nodes.length !== nodes) {
      throw onexError('ONEX_RT_407', `invalid cluster option nodes: the cluster in ${dataDir} has ${previous.nodes.length} nodes, not ${nodes}; stop it and remove the data dir to change its size`);
    }
    if (previous && previous.nodes.every((n) => isBrokerProcess(readBrokerState(n.dataDir)?.pid ?? -1))) {
      if (await waitForCluster(previous, readyTimeoutMs)) return { info: previous, reused: true, startMs: 0 };
      throw onexError('ONEX_RT_405', `the cluster on ${dataDir} runs but not every node answers at ${previous.bootstrap}; see the node-*/server.log files`);
    }
    checkJava();
    const classpath = resolveKafkaClasspath(options.pomPath, progress);
    const ports = previous ? previous.nodes : await nodePorts(dataDir, nodes);
    const voters = ports.map((p, i) => `${i + 1}@127.0.0.1:${p.controllerPort}`).join(',');
    const info: LocalClusterInfo = {
      clusterId: previous?.clusterId ?? newClusterId(),
      bootstrap: ports.map((p) => `127.0.0.1:${p.port}`).join(','),
      nodes: ports.map((p, i) => ({ nodeId: i + 1, port: p.port, controllerPort: p.controllerPort, dataDir: join(dataDir, `node-${i + 1}`) })),
      voters,
      kafkaVersion: '',
      properties: { ...clusterProperties(nodes), ...options.properties },
      nodeProperties: options.nodeProperties ?? previous?.nodeProperties ?? {},
      heapMb: options.heapMb ?? 512,
    };
    const launched: LocalBrokerInfo[] = [];
    for (const n of info.nodes) {
      const state = readBrokerState(n.dataDir);
      if (state && isBrokerProcess(state.pid)) continue;
      const node = launchClusterNode(info, n.nodeId, classpath, options.ownerPid);
      info.kafkaVersion = node.kafkaVersion;
      launched.push(node);
    }
    writeFileSync(join(dataDir, CLUSTER_FILE), JSON.stringify(info, null, 2));
    progress(`starting a ${nodes}-node Apache Kafka ${info.kafkaVersion} cluster (combined broker+controller nodes) on ${info.bootstrap}...`);
    if (await waitForCluster(info, readyTimeoutMs)) return { info, reused: false, startMs: Date.now() - t0 };
    const errors = await Promise.all(launched.map((n) => abandonNode(n, readyTimeoutMs)));
    throw onexError('ONEX_RT_405', `the ${nodes}-node cluster on ${info.bootstrap} did not come up within ${Math.round(readyTimeoutMs / 1000)} s: ${errors.map((e) => e.message).join('; ')}`);
  } finally {
    release();
  }
}

function launchClusterNode(info: LocalClusterInfo, nodeId: number, classpath: string, ownerPid: number | undefined): LocalBrokerInfo {
  const n = info.nodes[nodeId - 1]!;
  return launchNode(n.dataDir, classpath, {
    port: n.port,
    controllerPort: n.controllerPort,
    heapMb: info.heapMb,
    ownerPid,
    properties: { ...info.properties, ...info.nodeProperties[nodeId] },
    node: { nodeId, voters: info.voters, clusterId: info.clusterId },
  });
}

/** The pid of a node's JVM, or undefined when it is not running. */
export function clusterNodePid(info: LocalClusterInfo, nodeId: number): number | undefined {
  const state = readBrokerState(info.nodes[nodeId - 1]!.dataDir);
  return state && isBrokerProcess(state.pid) ? state.pid : undefined;
}

/**
 * Starts one node of the cluster again (after it was killed or stopped) on its own ports and log, and returns when
 * the whole cluster answers again.
 */
export async function restartClusterNode(info: LocalClusterInfo, nodeId: number, options: { ownerPid?: number; readyTimeoutMs?: number } = {}): Promise<number> {
  const t0 = Date.now();
  if (clusterNodePid(info, nodeId) === undefined) {
    const n = info.nodes[nodeId - 1]!;
    // The ports of a node killed a moment ago can linger; they are ours, so wait for them.
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline && !((await portIsFree(n.port)) && (await portIsFree(n.controllerPort)))) await new Promise((r) => setTimeout(r, 200));
    launchClusterNode(info, nodeId, resolveKafkaClasspath(), options.ownerPid);
  }
  const timeout = options.readyTimeoutMs ?? 180_000;
  if (!(await waitForCluster(info, timeout))) throw onexError('ONEX_RT_470', `node ${nodeId} of the cluster did not come back within ${Math.round(timeout / 1000)} s; see ${info.nodes[nodeId - 1]!.dataDir}/server.log`);
  return Date.now() - t0;
}

/** Stops every node (SIGTERM, SIGKILL after timeoutMs) and its watchdog. Returns how many nodes were running. */
export async function stopLocalCluster(dataDir: string, timeoutMs = 30_000): Promise<number> {
  const info = readClusterState(dataDir);
  if (!info) return 0;
  let stopped = 0;
  await Promise.all(
    info.nodes.map(async (n) => {
      const state = readBrokerState(n.dataDir);
      if (!state) return;
      if (state.watchdogPid) killQuietly(state.watchdogPid);
      if (isBrokerProcess(state.pid)) {
        // A frozen node ignores SIGTERM until it is resumed.
        killQuietly(state.pid, 'SIGCONT');
        await killAndWait(state.pid, timeoutMs);
        stopped++;
      }
      rmSync(join(n.dataDir, STATE_FILE_NAME), { force: true });
    }),
  );
  return stopped;
}

export interface ClusterStatus {
  nodes: Array<ClusterNode & { running: boolean; pid?: number }>;
  answering: boolean;
  info?: LocalClusterInfo;
}

export async function localClusterStatus(dataDir: string): Promise<ClusterStatus | undefined> {
  const info = readClusterState(dataDir);
  if (!info) return undefined;
  const nodes = info.nodes.map((n) => {
    const pid = clusterNodePid(info, n.nodeId);
    return { ...n, running: pid !== undefined && isAlive(pid), pid };
  });
  return { nodes, answering: nodes.every((n) => n.running) && (await clusterAnswers(info)), info };
}

export interface EphemeralCluster {
  info: LocalClusterInfo;
  startMs: number;
  /** Node ids with their running JVM's pid (for fault injection). */
  pid(nodeId: number): number | undefined;
  /** Sends a signal to a node's JVM (SIGKILL, SIGSTOP, SIGCONT, ...). */
  signal(nodeId: number, signal: NodeJS.Signals): void;
  /** Starts a killed node again; resolves with the ms until the whole cluster answered. */
  restart(nodeId: number): Promise<number>;
  /** Stops every node and removes the data dir. */
  stop(): Promise<void>;
}

/** A throwaway cluster for one process (tests, benchmarks), as startEphemeralBroker is for one broker. */
export async function startEphemeralCluster(options: Omit<LocalClusterOptions, 'dataDir' | 'ownerPid'> & { prefix?: string } = {}): Promise<EphemeralCluster> {
  const { prefix = 'onex-cluster-', ...rest } = options;
  const dataDir = mkdtempSync(join(tmpdir(), prefix));
  const stop = async () => {
    await stopLocalCluster(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const { info, startMs } = await startLocalCluster({ ...rest, dataDir, ownerPid: process.pid });
    return {
      info,
      startMs,
      pid: (id) => clusterNodePid(info, id),
      signal(id, sig) {
        const pid = clusterNodePid(info, id);
        if (pid === undefined) throw new Error(`node ${id} is not running`);
        process.kill(pid, sig);
      },
      restart: (id) => restartClusterNode(info, id, { ownerPid: process.pid }),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

