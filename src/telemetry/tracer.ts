import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';
import { flags } from '../flags/index.js';

/**
 * The pipeline's tracer, or undefined when spans would go nowhere. The library depends on `@opentelemetry/api` only:
 * until an application (or `--otlp-endpoint` on the CLI) registers an SDK, the API's global provider is a proxy with
 * no delegate, and the producer and worker skip span creation altogether instead of making no-op spans: tracing then
 * costs the API's global lookups for the provider and the caller's context, well under a microsecond per event and
 * below the pipeline's round-to-round noise (bench/tracing.ts measures both, beside a drop-all sampler and full
 * recording).
 */

export const TRACER_NAME = 'onex-events';
const TRACER_VERSION = '0.1.0';

/** What the API's global ProxyTracerProvider offers beyond TracerProvider (present in every 1.x release). */
interface ProxyLike extends TracerProvider {
  getDelegate?(): TracerProvider;
  getDelegateTracer?(name: string, version?: string): Tracer | undefined;
}

const FLAG = 'onex.telemetry.tracing';
let followed = false;
let switchedOn = true;
let lastDelegate: TracerProvider | undefined;
let lastTracer: Tracer | undefined;

/** The `onex.telemetry.tracing` flag, followed from the first span on (not at import: reading flags installs their provider). */
function follow(): void {
  followed = true;
  switchedOn = flags.isEnabled(FLAG, true);
  flags.onChange<boolean>(FLAG, (on) => {
    switchedOn = on;
  });
}

/** The tracer to make spans with, or undefined (the onex.telemetry.tracing flag is off, or no SDK is registered). */
export function activeTracer(): Tracer | undefined {
  if (!followed) follow();
  if (!switchedOn) return undefined;
  const provider = trace.getTracerProvider() as ProxyLike;
  const delegate = provider.getDelegate ? provider.getDelegate() : provider;
  if (delegate === lastDelegate) return lastTracer;
  lastDelegate = delegate;
  // A proxy without a delegate answers getDelegateTracer with undefined: no SDK, so no spans.
  lastTracer = provider.getDelegate ? provider.getDelegateTracer?.(TRACER_NAME, TRACER_VERSION) : provider.getTracer(TRACER_NAME, TRACER_VERSION);
  return lastTracer;
}
