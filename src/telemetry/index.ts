export { logger, setLogLevel, type Logger } from './logger.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { Profiler, activeProfiler, profile, startProfiler, type Measurement, type ProfilerOptions, type ProfileSummary } from './profiler.js';
