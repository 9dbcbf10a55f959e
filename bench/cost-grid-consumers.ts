/**
 * The grid's side of its consumer processes (bench/cost-grid-worker.ts): starts them once per cluster, hands a job
 * to the first `processes` of them (one consumer group), waits until together they read `events` records, stops
 * them and combines what they report.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export type ConsumerMode = 'onex' | 'kafkajs';

type Done = { count: number; first: number; last: number; cpuUs: number; failed: number };

/** How long one consume may take before the grid gives up on the cell (group joins included). */
const CONSUME_TIMEOUT_MS = 180_000;

class ConsumerProcess {
  count = 0;
  private readonly lines: Array<(msg: { count?: number; done?: Done }) => void> = [];

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (!line.startsWith('{')) return;
      const msg = JSON.parse(line) as { count?: number; done?: Done };
      if (msg.count !== undefined) this.count = msg.count;
      for (const l of this.lines) l(msg);
    });
  }

  tell(msg: object): void {
    this.child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  done(): Promise<Done> {
    return new Promise((resolve) => {
      const l = (msg: { done?: Done }) => {
        if (!msg.done) return;
        this.lines.splice(this.lines.indexOf(l), 1);
        resolve(msg.done);
      };
      this.lines.push(l);
    });
  }
}

export class GridConsumers {
  private constructor(private readonly processes: ConsumerProcess[]) {}

  static async start(brokers: string, registryUrl: string, n: number): Promise<GridConsumers> {
    const script = join(dirname(fileURLToPath(import.meta.url)), 'cost-grid-worker.ts');
    const processes = Array.from({ length: n }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, GRID_BROKERS: brokers, GRID_REGISTRY: registryUrl, ONEX_LOG_LEVEL: process.env.ONEX_LOG_LEVEL ?? 'error' },
        stdio: ['pipe', 'pipe', 'inherit'],
      });
      return new ConsumerProcess(child);
    });
    return new GridConsumers(processes);
  }

  /** Reads `events` records of `topic` from the start with `processes` consumers in a new group. */
  async consume(mode: ConsumerMode, topic: string, partitions: number, processes: number, events: number): Promise<{ rate: number; cpuUs: number }> {
    const group = `bench-grid-${mode}-${randomUUID().slice(0, 8)}`;
    const used = this.processes.slice(0, processes);
    for (const p of used) p.count = 0;
    for (const p of used) p.tell({ consume: { mode, topic, groupId: group, partitions } });
    const deadline = Date.now() + CONSUME_TIMEOUT_MS;
    while (used.reduce((n, p) => n + p.count, 0) < events) {
      if (Date.now() > deadline) throw new Error(`${processes} ${mode} consumer(s) read ${used.reduce((n, p) => n + p.count, 0)} of ${events} records of ${topic} in ${CONSUME_TIMEOUT_MS / 1000} s`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const reports = await Promise.all(
      used.map((p) => {
        const d = p.done();
        p.tell({ stop: true });
        return d;
      }),
    );
    const read = reports.reduce((n, r) => n + r.count, 0);
    const failed = reports.reduce((n, r) => n + r.failed, 0);
    if (failed > 0 || read !== events) throw new Error(`${mode} consumers of ${topic}: ${read} records read of ${events}, ${failed} failed: the input is wrong`);
    const active = reports.filter((r) => r.count > 0);
    const first = Math.min(...active.map((r) => r.first));
    const last = Math.max(...active.map((r) => r.last));
    const cpuUs = reports.reduce((n, r) => n + r.cpuUs, 0);
    return { rate: (events / Math.max(1, last - first)) * 1000, cpuUs: cpuUs / events };
  }

  async close(): Promise<void> {
    await Promise.all(
      this.processes.map(
        (p) =>
          new Promise<void>((resolve) => {
            p.child.once('exit', () => resolve());
            p.child.stdin!.end();
          }),
      ),
    );
  }
}
