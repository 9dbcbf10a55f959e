import { trace, type Tracer, type TracerProvider } from '@opentelemetry/api';

/**
 * The pipeline's tracer, or undefined when spans would go nowhere. The library depends on `@opentelemetry/api` only:
 * until an application (or `--otlp-endpoint` on the CLI) registers an SDK, the API's global provider is a proxy with
 * no delegate, and the producer and worker skip span creation altogether instead of making no-op spans, so tracing
 * costs one property read per event (measured in bench/producer.ts and bench/worker.ts).
 */

export const TRACER_NAME = 'onex-events';
const TRACER_VERSION = '0.1.0';

/** What the API's global ProxyTracerProvider offers beyond TracerProvider (present in every 1.x release). */
interface ProxyLike extends TracerProvider {
  getDelegate?(): TracerProvider;
  getDelegateTracer?(name: string, version?: string): Tracer | undefined;
}

let switchedOn = true;
let lastDelegate: TracerProvider | undefined;
let lastTracer: Tracer | undefined;

/** Switches span creation (the `onex.tracing` flag); trace context is still carried on records either way. */
export function setTracingEnabled(enabled: boolean): void {
  switchedOn = enabled;
}

export function tracingEnabled(): boolean {
  return switchedOn;
}

/** The tracer to make spans with, or undefined (tracing switched off, or no SDK registered). */
export function activeTracer(): Tracer | undefined {
  if (!switchedOn) return undefined;
  const provider = trace.getTracerProvider() as ProxyLike;
  const delegate = provider.getDelegate ? provider.getDelegate() : provider;
  if (delegate === lastDelegate) return lastTracer;
  lastDelegate = delegate;
  // A proxy without a delegate answers getDelegateTracer with undefined: no SDK, so no spans.
  lastTracer = provider.getDelegate ? provider.getDelegateTracer?.(TRACER_NAME, TRACER_VERSION) : provider.getTracer(TRACER_NAME, TRACER_VERSION);
  return lastTracer;
}
