/** The kafka module's types that other modules (the worker, the processors, the registry store) use. */

/**
 * How a topic the pipeline creates is replicated. Both are options of every topic the pipeline creates (the worker's
 * dead-letter topics, a processor's changelog and dead-letter topics, the registry's schemas topic, the CLI's topics);
 * left out, they follow the cluster (defaultReplication).
 */
export interface TopicReplication {
  /** Copies of every partition. Default 3 on a cluster of three or more brokers, else 1. */
  replicationFactor?: number;
  /** Copies that must have a write before an acks=all producer hears it is written. Default 2 with 3+ brokers, else 1. */
  minInsyncReplicas?: number;
}

export interface TopicSpec extends TopicReplication {
  topic: string;
  partitions?: number;
  /** Topic-level configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>;
}
