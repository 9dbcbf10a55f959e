import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { stopLocalCluster } from '../../src/dev/index.js';

/**
 * The faults project gets a data dir for one 3-node cluster per run; the cluster itself is started by the first
 * test that needs it (test/support/cluster.ts), so a run that selects no fault test starts no JVM. Teardown stops
 * it, unmounts anything a test mounted below the data dir (the disk-full test's small file system) and removes it.
 */
export default function setup(project: TestProject): () => Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'onex-test-cluster-'));
  project.provide('clusterDataDir', dataDir);
  project.provide('clusterOwnerPid', process.pid);
  return async () => {
    await stopLocalCluster(dataDir, 20_000);
    for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
      const mountPoint = line.split(' ')[1];
      if (mountPoint?.startsWith(dataDir)) spawnSync('umount', ['-l', mountPoint]);
    }
    rmSync(dataDir, { recursive: true, force: true });
  };
}
