export { logger, setLogLevel, type Logger } from './logger.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
