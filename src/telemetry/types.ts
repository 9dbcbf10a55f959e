/**
 * The types other modules import from telemetry: the logger, what a per-event path needs of a histogram, and the
 * handles of the metrics server and of OTLP tracing.
 */

/** pino's logger: what logger() returns and what modules take as an option. */
export type { Logger } from '../logging/index.js';

/** What a per-event path needs of a histogram series. */
export type Observe = { observe(v: number): void };

/** What a per-event path needs of a histogram: a CountingHistogram, or a prom-client Histogram found in the registry. */
export interface LabelledHistogram {
  labels(value: string): Observe;
}

export interface MetricsServer {
  /** http://host:port/metrics */
  url: string;
  /** http://host:port, where /healthz and /readyz are too. */
  baseUrl: string;
  close(): Promise<void>;
}

export interface OtlpTracing {
  /** Where spans go. */
  readonly url: string;
  /** Exports what is buffered, then stops. Never throws. */
  shutdown(): Promise<void>;
}
