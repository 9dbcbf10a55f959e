import { defineConfig } from 'vitest/config';

// Three projects: unit tests are pure logic and run in parallel; integration tests share one real broker (started by
// test/support/global-setup.ts) and get generous timeouts because a 2-core CI machine can be slow; the fault tests
// (test/faults) run last, one file at a time, on a 3-node cluster of their own (test/support/cluster.ts) whose nodes
// they kill, freeze and fill.
export default defineConfig({
  test: {
    reporters: ['default', './test/support/summary-reporter.ts'],
    // kafkajs reports every transient broker answer (coordinator loading, leader moving) as an error; tests keep the
    // log to real errors unless ONEX_LOG_LEVEL asks for more.
    env: { ONEX_LOG_LEVEL: process.env.ONEX_LOG_LEVEL ?? 'error' },
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          // promtool for the rule and dashboard tests, installed when missing (test/support/prometheus.ts);
          // kustomize and kubernetes-validate for the manifest test (test/support/k8s.ts).
          globalSetup: ['test/support/prometheus-setup.ts', 'test/support/k8s-setup.ts'],
          testTimeout: 20_000,
          // Unit tests run first (group 0): a logic failure shows before the slower broker-backed tests start.
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          globalSetup: ['test/support/global-setup.ts', 'test/support/prometheus-setup.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          pool: 'forks',
          maxWorkers: 2,
          fileParallelism: true,
          sequence: { groupOrder: 1 },
        },
      },
      {
        test: {
          name: 'faults',
          include: ['test/faults/**/*.test.ts'],
          globalSetup: ['test/faults/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
