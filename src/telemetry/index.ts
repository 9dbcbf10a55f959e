export { logger, setLogLevel } from '../logging/index.js';
export type { Logger, MetricsServer } from './types.js';
export { startMetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { Profiler, activeProfiler, profile, startProfiler, type Measurement, type ProfilerOptions, type ProfileSummary } from './profiler.js';
