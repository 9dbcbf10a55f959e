import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { OnexEventCodec } from '../../codec/index.js';
import { onexError } from '../../errors/index.js';
import { ALERTS_TOPIC, createAlertProcessor } from '../../processors/alerting/index.js';
import { addOtlpOption } from '../tracing.js';
import { registryFromEnv } from '../../codec/index.js';
import { Health, registryCheck } from '../../health/index.js';
import { registryOf } from '../args.js';
import { addHealthServerOptions, serveHealth, type HealthServerFlags } from '../health.js';
import { addConnectionOptions, decoderFrom, kafkaFrom, type ConnectionFlags } from './consume.js';
import {
  checkRules, compareTransitions, formatProblem, formatTransition, loadRules, parseDuration, parseEventLines, readRuleFile, replayRules, transitionLine,
} from '../../processors/alerting/index.js';

interface RunFlags {
  rules: string;
  topic: string;
  group: string;
  alertsTopic: string;
  webhook?: string;
  fromBeginning?: boolean;
  allowedLateness: string;
  late: string;
  tick: string;
  sessionTimeout: string;
}

function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw onexError('ONEX_CLI_303', `cannot read ${what} ${path}: ${(e as Error).message}`, { cause: e });
  }
}

/** `--until`: an ISO time, or +<duration> after the last event. */
function untilOf(value: string | undefined, lastMs: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value.startsWith('+')) {
    const d = parseDuration(value.slice(1));
    if (d === undefined) throw onexError('ONEX_CLI_300', `--until ${value}: expected +<duration> such as +5m, or an ISO time`);
    return (lastMs ?? 0) + d;
  }
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw onexError('ONEX_CLI_300', `--until ${value}: expected +<duration> such as +5m, or an ISO time`);
  return t;
}

/** A duration flag of `onex alerts run` (30s, 500ms, 2m); `off` where `allowOff` (the tick). */
export function durationFlag(flag: string, value: string, allowOff = false): number | false {
  if (allowOff && value === 'off') return false;
  const ms = parseDuration(value);
  if (ms === undefined || !Number.isInteger(ms)) {
    throw onexError('ONEX_CLI_300', `${flag} ${value}: expected a duration such as 5s, 500ms or 2m${allowOff ? ', or off' : ''}`);
  }
  return ms;
}

/** `onex alerts check rules.yaml`: lists every mistake of a rule file as an ONEX line and exits 1 if there is one. */
export function registerAlertsCommands(program: Command): void {
  const alerts = program.command('alerts').description('event-pattern alert rules: check a rule file, test it on recorded events');
  alerts
    .command('check <file>')
    .description('check a rule file: YAML shape, durations, CEL expressions, templates; one ONEX line per mistake')
    .action((file: string) => {
      const { rules, problems } = checkRules(readRuleFile(file), file);
      for (const p of problems) process.stderr.write(`${formatProblem(p)}\n`);
      if (problems.length > 0) {
        process.exitCode = 1;
        return;
      }
      process.stdout.write(`${file}: ${rules.length} rule${rules.length === 1 ? '' : 's'} ok\n`);
    });
  alerts
    .command('test <rules>')
    .description('replay recorded events (JSON lines, any schema version) through the rules in event time, no broker')
    .requiredOption('--events <file>', 'events, one JSON object a line')
    .option('--expect <file>', 'expected transitions (YAML list of { rule, key, state, at }); exit 1 on a difference')
    .option('--until <time>', 'after the last event, move event time on to this ISO time or +<duration> (fires absences)')
    .option('--json', 'one JSON line per transition: rule, key, state, at')
    .action((file: string, opts: { events: string; expect?: string; until?: string; json?: boolean }) => {
      const { rules } = loadRules(readRuleFile(file), file);
      const events = parseEventLines(readText(opts.events, 'events file'), opts.events);
      const last = events.length > 0 ? Date.parse(String((events[events.length - 1]!.event as { timestamp?: string }).timestamp)) : undefined;
      const lines = replayRules(rules, events, untilOf(opts.until, Number.isNaN(last) ? undefined : last)).map(transitionLine);
      for (const l of lines) process.stdout.write(`${opts.json ? JSON.stringify(l) : formatTransition(l)}\n`);
      if (opts.expect) {
        const diffs = compareTransitions(lines, readText(opts.expect, 'expectations file'), opts.expect);
        if (diffs.length > 0) {
          for (const d of diffs) process.stderr.write(`ONEX_CLI_311: ${d}\n`);
          process.exitCode = 1;
        }
      }
    });
  const run = addConnectionOptions(
    addOtlpOption(alerts.command('run'), 'onex-alerts')
      .description('run the rules on a topic: ALERT_TRIGGERED / ALERT_RESOLVED events to onex.alerts, an Alertmanager webhook, onex_alerts gauge')
      .requiredOption('--rules <file>', 'rule file')
      .option('--topic <topic>', 'input topic', 'onex.events')
      .option('--group <group>', 'consumer group (and changelog / transactional id prefix)', 'onex-alerts')
      .option('--alerts-topic <topic>', 'where the alert events go', ALERTS_TOPIC)
      .option('--webhook <url>', 'Alertmanager v2 endpoint, e.g. http://127.0.0.1:9093/api/v2/alerts')
      .option('--from-beginning', 'a group without committed offsets starts at the beginning')
      .option('--allowed-lateness <duration>', 'how far the watermark trails the largest event time seen', '5s')
      .option('--late <policy>', 'an event behind the watermark is counted and then dropped or processed: drop | process', 'drop')
      .option('--tick <duration>', 'processing-time tick moving an idle partition\'s watermark on (absences of idle keys); off: event time only', '1s')
      .option('--session-timeout <duration>', 'consumer group session timeout: how soon a dead member\'s partitions move', '30s'),
  );
  addHealthServerOptions(run).action(async (opts: ConnectionFlags & HealthServerFlags & RunFlags) => {
    const { rules } = loadRules(readRuleFile(opts.rules), opts.rules);
    if (opts.late !== 'drop' && opts.late !== 'process') throw onexError('ONEX_CLI_300', `--late ${opts.late}: expected drop or process`);
    const allowedLatenessMs = durationFlag('--allowed-lateness', opts.allowedLateness) as number;
    const tickMs = durationFlag('--tick', opts.tick, true);
    const sessionTimeoutMs = durationFlag('--session-timeout', opts.sessionTimeout) as number;
    const kafka = kafkaFrom(opts);
    const codec = decoderFrom(opts) as OnexEventCodec;
    await codec.prepare('2.0.0');
    const proc = createAlertProcessor({
      kafka, groupId: opts.group, topic: opts.topic, decoder: codec, rules, alertsTopic: opts.alertsTopic,
      encode: (e) => codec.encode(e, '2.0.0'), ...(opts.webhook ? { webhookUrl: opts.webhook } : {}), fromBeginning: opts.fromBeginning ?? false,
      allowedLatenessMs, late: opts.late, tick: tickMs === false ? false : { intervalMs: tickMs, idleAfterMs: 2 * tickMs },
      sessionTimeoutMs, heartbeatIntervalMs: Math.max(100, Math.min(3_000, Math.floor(sessionTimeoutMs / 5))),
      onTransition: (t) => process.stdout.write(`${new Date(t.at).toISOString()} ${t.state.padEnd(8)} ${t.rule} ${JSON.stringify(t.key)} ${t.alertId}\n`),
    });
    const remove = proc.handleSignals();
    // Ready: connected, in the group, every assigned partition's state restored, the registry answering, not draining.
    const health = new Health().addAll('processor', () => proc.readiness()).add('registry', registryCheck(registryFromEnv(process.env, registryOf(opts))!));
    const metricsServer = await serveHealth(opts, health);
    try {
      await proc.start();
      await proc.ready();
      process.stderr.write(`alerts ready: ${rules.length} rules on ${opts.topic}, group ${opts.group}, partitions ${proc.assignment().join(',') || 'none yet'}\n`);
      await proc.done;
    } finally {
      remove();
      await metricsServer?.close();
    }
  });
}
