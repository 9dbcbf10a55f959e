import { ensurePrometheus } from './prometheus.js';

/**
 * Global setup of both test projects: Prometheus and promtool are there before the rule, dashboard and
 * real-Prometheus tests run (installed from Debian's package when missing; see prometheus.ts). A failure fails the run.
 */
export default function setup(): void {
  ensurePrometheus((line) => process.stderr.write(`[prometheus] ${line}\n`));
}
