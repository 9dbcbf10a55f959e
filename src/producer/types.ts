/** The producer's types that other modules (the CLI, the package root) use. */

/** What emit() resolves with. */
export type EmitResult =
  /** Kafka acknowledged the event (acks=all). */
  | { readonly status: 'sent'; readonly eventId: string; readonly sampleRate: number; /** Encoded record bytes (value, key, headers). */ readonly bytes: number }
  /** Sampling dropped the event; it was valid and never reached Kafka. */
  | { readonly status: 'sampled_out'; readonly eventId: string; readonly sampleRate: number };
