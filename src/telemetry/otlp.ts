import client from 'prom-client';
import { onexError } from '../errors/index.js';
import { logger } from '../logging/index.js';
import type { OtlpTracing } from './types.js';

/**
 * The OpenTelemetry Node SDK with the OTLP/HTTP trace exporter, for the commands that run pipelines (`onex dev`,
 * `onex worker`, ...) when given `--otlp-endpoint` or the standard OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT. The library
 * itself never loads this: it depends on `@opentelemetry/api` only, and the SDK packages are optional dependencies,
 * imported here on demand.
 *
 * The standard OTEL_* variables keep their meaning: OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (resource),
 * OTEL_TRACES_SAMPLER / _ARG (sampler), OTEL_EXPORTER_OTLP_HEADERS / _TIMEOUT (exporter), OTEL_BSP_* (batching),
 * OTEL_SDK_DISABLED=true and OTEL_TRACES_EXPORTER=none (no tracing). An exporter that cannot deliver is logged (the
 * first failure, then one in a hundred) and counted in onex_trace_export_failures_total; it never fails the pipeline.
 */

export interface OtlpTracingOptions {
  /** Base URL of an OTLP/HTTP receiver (`http://127.0.0.1:4318`); `/v1/traces` is appended unless present. */
  readonly endpoint?: string;
  /** service.name unless OTEL_SERVICE_NAME says otherwise. */
  readonly serviceName: string;
  /** The environment whose OTEL_* variables apply (the CLI passes its own). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where the failure counter goes; default prom-client's global registry (what `onex worker --metrics-port` serves). */
  readonly metricsRegistry?: client.Registry;
}

export type { OtlpTracing } from './types.js';

const log = logger('tracing');

/** The OTLP/HTTP traces URL an endpoint flag names; throws ONEX_TELEM_505 for one that is no http(s) URL. */
export function otlpTracesUrl(endpoint: string): string {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw onexError('ONEX_TELEM_505', `the OTLP endpoint ${JSON.stringify(endpoint)} is not a URL; give the receiver's base URL, e.g. http://127.0.0.1:4318`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw onexError('ONEX_TELEM_505', `the OTLP endpoint ${endpoint} is not http(s); this exporter speaks OTLP over HTTP (port 4318 by convention)`);
  }
  const text = url.href.replace(/\/+$/, '');
  return text.endsWith('/v1/traces') ? text : `${text}/v1/traces`;
}

/** Starts the SDK when an endpoint is given (flag or environment); undefined when tracing is not asked for. */
export async function startOtlpTracing(options: OtlpTracingOptions): Promise<OtlpTracing | undefined> {
  const env = options.env;
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return undefined;
  const fromEnv = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (!options.endpoint && !fromEnv) return undefined;
  // The flag wins; the traces variable is a full URL already, the general one a base (as the specification says).
  const url = options.endpoint ? otlpTracesUrl(options.endpoint) : env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? otlpTracesUrl(fromEnv!);

  let sdk: typeof import('@opentelemetry/sdk-trace-node');
  let exporterModule: typeof import('@opentelemetry/exporter-trace-otlp-http');
  let resources: typeof import('@opentelemetry/resources');
  try {
    [sdk, exporterModule, resources] = await Promise.all([
      import('@opentelemetry/sdk-trace-node'),
      import('@opentelemetry/exporter-trace-otlp-http'),
      import('@opentelemetry/resources'),
    ]);
  } catch (cause) {
    throw onexError(
      'ONEX_TELEM_504',
      `tracing to ${url} needs the OpenTelemetry SDK, which is not installed: npm install @opentelemetry/sdk-trace-node @opentelemetry/exporter-trace-otlp-http @opentelemetry/resources (${(cause as Error).message})`,
      { cause },
    );
  }

  const failures = exportFailures(options.metricsRegistry ?? client.register);
  const inner = new exporterModule.OTLPTraceExporter({ url });
  let failed = 0;
  const exporter: import('@opentelemetry/sdk-trace-node').SpanExporter = {
    export(spans, done) {
      inner.export(spans, (result) => {
        if (result.code !== 0) {
          failures.inc(spans.length);
          if (failed++ % 100 === 0) {
            const e = onexError('ONEX_TELEM_506', `could not export ${spans.length} spans to ${url}: ${result.error?.message ?? 'no reason given'}; the pipeline goes on (failures so far: ${failed})`);
            log.warn({ code: e.code, url, spans: spans.length }, e.message);
          }
        }
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
  const resource = resources
    .defaultResource()
    .merge(resources.resourceFromAttributes({ 'service.name': options.serviceName }))
    .merge(resources.detectResources({ detectors: [resources.envDetector] }));
  const provider = new sdk.NodeTracerProvider({ resource, spanProcessors: [new sdk.BatchSpanProcessor(exporter)] });
  // Global tracer provider, AsyncLocalStorage context manager (a handler's awaits keep its span) and W3C propagator.
  provider.register();
  log.debug({ url, sampler: String(provider) }, 'tracing to an OTLP endpoint');
  return {
    url,
    async shutdown() {
      try {
        await provider.shutdown();
      } catch (err) {
        log.warn({ err: (err as Error).message, url }, 'flushing the last spans failed');
      }
    },
  };
}

/** The counter of spans the exporter could not deliver (a command serving a registry of its own adds it there too). */
export const TRACE_EXPORT_FAILURES = 'onex_trace_export_failures_total';

function exportFailures(registry: client.Registry): client.Counter {
  const name = TRACE_EXPORT_FAILURES;
  const existing = registry.getSingleMetric(name);
  if (existing) return existing as client.Counter;
  return new client.Counter({ name, help: 'Spans the OTLP exporter could not deliver (the pipeline goes on without them).', registers: [registry] });
}
