import { parse as parseYaml } from 'yaml';
import { onexError } from '../../errors/index.js';
import type { AnyOnexEvent, SchemaVersion } from '../../event/index.js';
import { detectEventVersion, transformEvent } from '../../schema/index.js';
import { runLocally } from '../local-runner.js';
import { createAlertEngine, type AlertTransition } from './engine.js';
import type { AlertRule } from './rules.js';

/**
 * `onex alerts test`: a recorded stream (ONEX events of any version, one JSON object a line) through the rules in
 * event time with no broker, the way `promtool test rules` unit-tests Prometheus rules. Each event is upcast to
 * 2.0.0 (what the rules' CEL sees) and keeps its writer version (what deprecated_schema counts).
 */

export interface TransitionLine {
  rule: string;
  key: Record<string, string>;
  state: AlertTransition['state'];
  /** ISO-8601 event time. */
  at: string;
}

export function parseEventLines(text: string, file = 'events.jsonl'): Array<{ event: AnyOnexEvent; writer: SchemaVersion }> {
  const out: Array<{ event: AnyOnexEvent; writer: SchemaVersion }> = [];
  text.split('\n').forEach((line, i) => {
    if (line.trim() === '') return;
    try {
      const raw = JSON.parse(line) as object;
      const writer = detectEventVersion(raw);
      out.push({ event: transformEvent(raw, '2.0.0') as AnyOnexEvent, writer });
    } catch (e) {
      throw onexError('ONEX_CLI_310', `${file}:${i + 1}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
    }
  });
  return out;
}

/** The transitions of the rules over the events, in order; `untilMs` moves event time on after the last event. */
export function replayRules(rules: readonly AlertRule[], events: Array<{ event: AnyOnexEvent; writer: SchemaVersion }>, untilMs?: number, partition = 0): AlertTransition[] {
  const seen: AlertTransition[] = [];
  const writers = new Map(events.map((e) => [e.event, e.writer]));
  const def = createAlertEngine(rules, { output: () => [], onTransition: (t) => seen.push(t) });
  runLocally(def, events.map((e) => e.event), {
    writerVersionOf: (e) => writers.get(e) ?? '2.0.0',
    ...(untilMs === undefined ? {} : { until: untilMs }),
    partition,
  });
  return seen;
}

export const transitionLine = (t: AlertTransition): TransitionLine => ({ rule: t.rule, key: t.key, state: t.state, at: new Date(t.at).toISOString() });

export function formatTransition(t: TransitionLine): string {
  const key = Object.entries(t.key).map(([k, v]) => `${k}=${v}`).join(',');
  return `${t.at} ${t.state.padEnd(8)} ${t.rule}${key ? ` {${key}}` : ''}`;
}

/** Compares with an expected list (YAML: a list of { rule, key, state, at }); returns the differences as sentences. */
export function compareTransitions(actual: TransitionLine[], expectedYaml: string, file = 'expected.yaml'): string[] {
  let expected: unknown;
  try {
    expected = parseYaml(expectedYaml);
  } catch (e) {
    throw onexError('ONEX_CLI_310', `${file}: ${(e as Error).message.split('\n')[0]}`, { cause: e });
  }
  const list = Array.isArray(expected) ? expected : (expected as { transitions?: unknown })?.transitions;
  if (!Array.isArray(list)) throw onexError('ONEX_CLI_310', `${file}: expected a list of { rule, key, state, at }`);
  const norm = (x: Record<string, unknown>) =>
    formatTransition({ rule: String(x.rule), key: (x.key ?? {}) as Record<string, string>, state: String(x.state) as TransitionLine['state'], at: new Date(String(x.at)).toISOString() });
  const want = list.map((x) => norm(x as Record<string, unknown>));
  const got = actual.map(formatTransition);
  const diffs: string[] = [];
  for (let i = 0; i < Math.max(want.length, got.length); i++) {
    if (want[i] !== got[i]) diffs.push(`transition ${i + 1}: expected ${want[i] ?? '(none)'}, got ${got[i] ?? '(none)'}`);
  }
  return diffs;
}
