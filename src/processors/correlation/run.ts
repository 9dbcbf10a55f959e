import { flags as defaultFlags, type FlagSet } from '../../flags/index.js';
import { ensureTopics } from '../../kafka/index.js';
import { retryWhileRetriable } from '../../retry/index.js';
import { createProcessor } from '../processor.js';
import type { Processor, ProcessorOptions, StoreOptions } from '../types.js';
import { CORRELATIONS_TOPIC, correlationIndexDefinition } from './definition.js';

/**
 * The correlation index on the processor runtime. Every event is indexed whatever its lateness (late: 'process')
 * and time moves with the events only (tick off): the index has no timers, and a backfill of old events is as
 * welcome as live ones. The index topic is created compacted at start (with the input topic's partition count unless
 * said); an existing one keeps its count, which the records' partitions follow. Flag onex.correlations.enabled off:
 * events are read and committed but not indexed.
 */
export interface CorrelationIndexOptions extends Omit<ProcessorOptions, 'definition' | 'late' | 'tick'> {
  indexTopic?: string;
  /** Partitions of the index topic when it is created (default the input topic's count). */
  indexPartitions?: number;
  flows?: StoreOptions;
  flagSet?: FlagSet;
}

export function createCorrelationIndex(o: CorrelationIndexOptions): Processor {
  const { indexTopic = CORRELATIONS_TOPIC, indexPartitions, flows, flagSet, ...rest } = o;
  const f = flagSet ?? defaultFlags;
  const shape = { indexTopic, indexPartitions: 0, flows, enabled: () => f.isEnabled('onex.correlations.enabled', true) };
  const processor = createProcessor({ ...rest, late: 'process', tick: false, definition: correlationIndexDefinition(shape) });
  const start = processor.start;
  processor.start = async () => {
    const admin = o.kafka.admin();
    await admin.connect();
    try {
      const inputMeta = await retryWhileRetriable(() => admin.fetchTopicMetadata({ topics: [o.topic] }));
      const partitions = indexPartitions ?? inputMeta.topics[0]?.partitions.length ?? 1;
      await retryWhileRetriable(() => ensureTopics(admin, [{ topic: indexTopic, partitions, configs: { 'cleanup.policy': 'compact' } }]));
      const meta = await retryWhileRetriable(() => admin.fetchTopicMetadata({ topics: [indexTopic] }));
      shape.indexPartitions = meta.topics[0]!.partitions.length;
    } finally {
      await admin.disconnect();
    }
    await start();
  };
  return processor;
}
