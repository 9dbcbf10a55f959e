export { logger, setLogLevel } from './logger.js';
export type { Logger, MetricsServer } from './types.js';
export { startMetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { Profiler, activeProfiler, profile, startProfiler, type Measurement, type ProfilerOptions, type ProfileSummary } from './profiler.js';
