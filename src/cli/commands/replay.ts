import { Command, InvalidArgumentError, Option } from 'commander';
import { OnexEventCodec, registryFromUrl } from '../../codec/index.js';
import { onexError } from '../../event/index.js';
import { flags } from '../../flags/index.js';
import { isOnexError } from '../../errors/index.js';
import { CORRELATIONS_GROUP, CORRELATIONS_TOPIC, CorrelationLookup } from '../../processors/correlation/index.js';
import { parseSpeed, runReplay } from '../../replay/index.js';
import type { ReplayOptions, ReplayProgress, ReplaySelection, ReplaySpeed } from '../../replay/types.js';
import { addSecurityOptions, securityFrom, type SecurityFlags } from '../security.js';
import { addOtlpOption } from '../tracing.js';
import { parseSchemaVersion, addConnectionOptions, kafkaFrom, type ConnectionFlags } from './consume.js';
import type { SchemaVersion } from '../../event/index.js';

interface ReplayFlags extends ConnectionFlags, SecurityFlags {
  topic: string;
  correlationId?: string;
  withChildren?: boolean;
  from?: number;
  to?: number;
  where?: string;
  toTopic: string;
  speed: ReplaySpeed;
  targetVersion: SchemaVersion;
  dryRun?: boolean;
  allowSourceTopic?: boolean;
  indexTopic: string;
  indexGroup: string;
}

/** ISO-8601 text or milliseconds since the epoch. */
export function parseTime(text: string): number {
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new InvalidArgumentError('expected an ISO-8601 time (2026-01-02T03:04:05Z) or milliseconds since the epoch');
  return ms;
}

function progressLine(p: ReplayProgress): string {
  const width = 30;
  const done = Math.round((p.emitted / Math.max(1, p.total)) * width);
  return `\r[${'#'.repeat(done)}${'.'.repeat(width - done)}] ${p.emitted}/${p.total} events, ${(p.elapsedMs / 1000).toFixed(1)} s elapsed, eta ${(p.etaMs / 1000).toFixed(1)} s`;
}

/**
 * The correlation index as runReplay's hooks. An index topic that does not exist (no index runs) or does not know
 * the flow leaves the replay to the partitioner (rangesFor) or a scan (treeFor); an index that cannot be read fails.
 */
function indexedRanges(lookup: CorrelationLookup, topic: string): Pick<ReplayOptions, 'rangesFor' | 'treeFor'> {
  const orNothing = async <T>(fn: () => Promise<T>): Promise<T | undefined> => {
    try {
      return await fn();
    } catch (err) {
      if (isOnexError(err, 'ONEX_RT_430') && isOnexError((err as Error).cause, 'ONEX_CLI_300')) return undefined;
      throw err;
    }
  };
  return {
    rangesFor: (id) => orNothing(() => lookup.rangesFor(id, topic)),
    treeFor: (id) => orNothing(() => lookup.treeRanges(id, topic)),
  };
}

/**
 * `onex replay`: re-emit one flow or one time range into a replay topic at a speed (docs/replay.md). Prints one JSON
 * summary line on stdout; a progress bar on stderr when it is a terminal; Ctrl-C stops after the event in flight
 * and the summary says how far it got (`interrupted`, `emitted`).
 */
export function registerReplayCommands(program: Command): void {
  addSecurityOptions(addConnectionOptions(
    addOtlpOption(program.command('replay'), 'onex-replay')
      .description('re-emit stored events of one flow or time range into a replay topic, at a speed, marked as replays')
      .option('--topic <topic>', 'topic to read the events from', 'onex.events')
      .option('--correlation-id <id>', 'replay the flow of this correlation id')
      .option('--with-children', 'with --correlation-id: also the flows whose parent_correlation_id leads to it')
      .option('--from <time>', 'start of a time range (ISO-8601 or epoch ms), inclusive', parseTime)
      .option('--to <time>', 'end of a time range, exclusive', parseTime)
      .option('--where <cel>', 'CEL over `event` (in the target version): replay only the events it is true for')
      .requiredOption('--to-topic <topic>', 'topic to replay into')
      .addOption(new Option('--speed <x>', 'speed multiplier, or max').argParser((v) => parseSpeed(v)).default(1))
      .addOption(new Option('--target-version <version>', 'schema version to replay in (1.3.0 or later)').argParser(parseSchemaVersion).default('2.0.0'))
      .option('--dry-run', 'print what would be replayed (count, versions, span, duration at the speed) without writing')
      .option('--index-topic <topic>', 'the correlation index to find flows in (onex.correlations); without one, the partitioner', CORRELATIONS_TOPIC)
      .option('--index-group <group>', "the index processor's group: what it has not indexed yet is read too", CORRELATIONS_GROUP)
      .option('--allow-source-topic', 'allow --to-topic to be the topic read (live counts and alerts would see the replay)'),
  ), 'the copies').action(async (opts: ReplayFlags) => {
    if (!flags.isEnabled('onex.replay.enabled')) throw onexError('ONEX_CLI_303', 'replay is switched off by the feature flag onex.replay.enabled');
    let selection: ReplaySelection;
    if (opts.correlationId !== undefined) {
      if (opts.from !== undefined || opts.to !== undefined) throw onexError('ONEX_CLI_301', 'give either --correlation-id or --from and --to, not both');
      selection = { correlationId: opts.correlationId, withChildren: opts.withChildren ?? false };
    } else {
      if (opts.from === undefined || opts.to === undefined) throw onexError('ONEX_CLI_301', 'say what to replay: --correlation-id ID, or --from TIME --to TIME');
      selection = { fromMs: opts.from, toMs: opts.to };
    }
    const security = securityFrom(opts);
    const url = opts.registry ?? process.env.SCHEMA_REGISTRY_URL;
    if (!url) throw onexError('ONEX_CLI_301', 'say where the schema registry is: --registry URL or SCHEMA_REGISTRY_URL');
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const tty = process.stderr.isTTY === true;
    const kafka = kafkaFrom(opts);
    const index = flags.isEnabled('onex.correlations.enabled') ? indexedRanges(new CorrelationLookup(kafka, opts.indexTopic, { indexGroup: opts.indexGroup }), opts.topic) : {};
    try {
      const summary = await runReplay({
        ...index,
        kafka,
        codec: new OnexEventCodec({ registry: registryFromUrl(url) }),
        sourceTopic: opts.topic,
        toTopic: opts.toTopic,
        selection,
        where: opts.where,
        speed: opts.speed,
        targetVersion: opts.targetVersion,
        dryRun: opts.dryRun ?? false,
        allowSourceTopic: opts.allowSourceTopic ?? false,
        ...(security ? { security: security.record } : {}),
        ...(security?.emit ? { emitSecurity: security.emit } : {}),
        signal: abort.signal,
        onProgress: tty ? (p) => process.stderr.write(progressLine(p)) : undefined,
      });
      if (tty && !summary.dry_run) process.stderr.write('\n');
      if (summary.interrupted) process.stderr.write(`replay stopped after ${summary.emitted} of ${summary.count} events\n`);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      if (summary.interrupted) process.exitCode = 130;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  });
}
