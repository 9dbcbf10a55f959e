import type { Command } from 'commander';
import pc from 'picocolors';
import { onexError } from '../../errors/index.js';
import { flags } from '../../flags/index.js';
import { CORRELATIONS_GROUP, CORRELATIONS_TOPIC, createCorrelationIndex, loadTrace, renderTraceTree, type SpanStatus } from '../../processors/correlation/index.js';
import { addConnectionOptions, decoderFrom, kafkaFrom, type ConnectionFlags } from './consume.js';

interface TraceFlags extends ConnectionFlags {
  traceId?: string;
  topic: string;
  indexTopic: string;
  indexGroup: string;
  json?: boolean;
}

const PAINT: Record<SpanStatus, (t: string) => string> = { success: pc.green, failure: pc.red, open: pc.yellow };

/**
 * `onex trace ID | --trace-id T`: the tree of one operation from the correlation index (docs/trace.md) as a tree
 * on the terminal, or as one JSON document with --json. `onex correlations run`: the index processor itself.
 */
export function registerTraceCommands(program: Command): void {
  addConnectionOptions(
    program
      .command('trace [correlation-id]')
      .description('the correlation tree of one operation across nodes: flows by parent id, each node START to SUCCESS/FAILURE with its duration')
      .option('--trace-id <id>', 'the flows of this trace id (instead of a correlation id)')
      .option('--topic <topic>', 'topic the events are in', 'onex.events')
      .option('--index-topic <topic>', 'the correlation index', CORRELATIONS_TOPIC)
      .option('--index-group <group>', "the index processor's group: what it has not indexed yet is read too", CORRELATIONS_GROUP)
      .option('--json', 'the tree as one JSON document'),
  ).action(async (correlationId: string | undefined, opts: TraceFlags) => {
    if (!flags.isEnabled('onex.trace.enabled')) throw onexError('ONEX_CLI_303', 'trace is switched off by the feature flag onex.trace.enabled');
    if ((correlationId === undefined) === (opts.traceId === undefined)) throw onexError('ONEX_CLI_301', 'say which operation: a correlation id, or --trace-id ID (not both)');
    const loaded = await loadTrace({ kafka: kafkaFrom(opts), decoder: decoderFrom(opts), topic: opts.topic, indexTopic: opts.indexTopic, indexGroup: opts.indexGroup, correlationId, traceId: opts.traceId });
    if (opts.json) {
      process.stdout.write(`${JSON.stringify({ ...loaded.tree, records_read: loaded.records_read, index_records_read: loaded.index_records_read })}\n`);
      return;
    }
    const paint = process.stdout.isTTY ? (s: SpanStatus, t: string) => PAINT[s](t) : undefined;
    process.stdout.write(`${renderTraceTree(loaded.tree, { paint })}\n`);
  });

  const correlations = program.command('correlations').description('the correlation index: where every flow is (docs/trace.md)');
  addConnectionOptions(
    correlations
      .command('run')
      .description('run the correlation index processor on a topic, writing flows and their links to onex.correlations')
      .option('--topic <topic>', 'input topic', 'onex.events')
      .option('--group <group>', 'consumer group (and changelog / transactional id prefix)', CORRELATIONS_GROUP)
      .option('--index-topic <topic>', 'the compacted index topic', CORRELATIONS_TOPIC)
      .option('--from-beginning', 'a group without committed offsets starts at the beginning'),
  ).action(async (opts: ConnectionFlags & { topic: string; group: string; indexTopic: string; fromBeginning?: boolean }) => {
    const proc = createCorrelationIndex({ kafka: kafkaFrom(opts), groupId: opts.group, topic: opts.topic, indexTopic: opts.indexTopic, decoder: decoderFrom(opts), fromBeginning: opts.fromBeginning ?? false });
    const remove = proc.handleSignals();
    try {
      await proc.start();
      await proc.ready();
      process.stderr.write(`correlation index ready on ${opts.topic} -> ${opts.indexTopic}, group ${opts.group}, partitions ${proc.assignment().join(',') || 'none yet'}\n`);
      await proc.done;
    } finally {
      remove();
    }
  });
}
