import { inject } from 'vitest';
import { clusterNodePid, readClusterState, restartClusterNode, startLocalCluster, type LocalClusterInfo } from '../../src/dev/index.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Data dir of the run's 3-node cluster; it is started by the first test that asks for it (testCluster()). */
    clusterDataDir: string;
    /** The vitest process: the cluster's nodes stop when it is gone. */
    clusterOwnerPid: number;
  }
}

export interface TestCluster {
  info: LocalClusterInfo;
  brokers: string[];
  /** The running JVM of a node, or undefined when it is down. */
  pid(nodeId: number): number | undefined;
  signal(nodeId: number, signal: NodeJS.Signals): void;
  /** Starts a node that is down again; resolves with ms until the whole cluster answers. */
  restart(nodeId: number): Promise<number>;
  /** Makes every node run and answer again (resumes frozen ones, starts dead ones): each test leaves it whole. */
  heal(): Promise<void>;
}

/**
 * The run's 3-node KRaft cluster (combined broker+controller nodes, docs/cluster.md). Started lazily, once per run, by
 * the first test that calls this, in the data dir the faults global setup chose; later calls (from any test file or
 * worker process) find it running and reuse it, and start again any node a previous test left down.
 */
export async function testCluster(): Promise<TestCluster> {
  const dataDir = inject('clusterDataDir');
  const ownerPid = inject('clusterOwnerPid');
  const t0 = Date.now();
  const start = () => startLocalCluster({ dataDir, nodes: 3, heapMb: 512, ownerPid, onProgress: (l) => process.stderr.write(`[cluster] ${l}\n`) });
  const before = readClusterState(dataDir);
  if (before) for (const n of before.nodes) resume(before, n.nodeId);
  const { info, reused } = await start();
  if (!reused) process.stderr.write(`[cluster] 3 nodes at ${info.bootstrap} ready in ${((Date.now() - t0) / 1000).toFixed(1)} s\n`);
  const handle: TestCluster = {
    info,
    brokers: info.bootstrap.split(','),
    pid: (id) => clusterNodePid(info, id),
    signal(id, sig) {
      const pid = clusterNodePid(info, id);
      if (pid === undefined) throw new Error(`node ${id} of the test cluster is not running`);
      process.kill(pid, sig);
    },
    restart: (id) => restartClusterNode(info, id, { ownerPid }),
    async heal() {
      for (const n of info.nodes) resume(info, n.nodeId);
      await start();
    },
  };
  return handle;
}

function resume(info: LocalClusterInfo, nodeId: number): void {
  const pid = clusterNodePid(info, nodeId);
  if (pid !== undefined) process.kill(pid, 'SIGCONT');
}
