import { stringify } from 'yaml';

/**
 * The 100 rules of the alerting benchmarks (bench/alerts.ts on the broker, bench/alerts-engine.ts without one): 20 of
 * each kind, each on its own event type and node prefix so that the rules do different work, all grouped by node_id.
 */
const TYPES = ['NODE_START', 'NODE_SUCCESS', 'NODE_FAILURE', 'TELEMETRY_OPERATION_START', 'TELEMETRY_OPERATION_SUCCESS', 'TELEMETRY_OPERATION_ERROR'];

export function hundredRules(): string {
  const rules: Array<Record<string, unknown>> = [];
  const prefixes = ['stamper', 'tree', 'registry'];
  for (let i = 0; i < 100; i++) {
    const type = TYPES[i % TYPES.length]!;
    const node = prefixes[i % prefixes.length]!;
    const match = `event.event_type == "${type}" && event.node_id.startsWith("${node}")`;
    const name = `r${i}`;
    switch (i % 5) {
      case 0: rules.push({ name, kind: 'threshold', match, by: ['node_id'], window: '60s', count: 3 + (i % 7), keep_firing_for: '30s', annotations: { summary: '{{ $key.node_id }} {{ $count }}' } }); break;
      case 1: rules.push({ name, kind: 'ratio', match, of: `event.node_id.startsWith("${node}")`, by: ['node_id'], above: 0.3, min_count: 5, window: '5m' }); break;
      case 2: rules.push({ name, kind: 'sequence', first: `event.event_type == "NODE_START" && event.node_id.startsWith("${node}")`, then: 'event.event_type in ["NODE_SUCCESS", "NODE_FAILURE"]', by: ['node_id'], within: `${10 + i}s`, absent: true }); break;
      case 3: rules.push({ name, kind: 'absence', match, by: ['node_id'], window: '120s' }); break;
      default: rules.push({ name, kind: 'deprecated_schema', versions: ['1.0.0'], match: `event.node_id.startsWith("${node}")`, by: ['node_id'], window: '10m', count: 1 + (i % 3) });
    }
  }
  return stringify({ rules });
}
