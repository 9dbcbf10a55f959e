import { context, ROOT_CONTEXT, trace, TraceFlags, type Context, type ContextManager } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { carriesError, flowKeyOf } from '../../../src/producer/trace-context.js';
import { activeSpanContext, formatTraceparent, parseTraceparent, spanContextOfHeaders, traceparentOf } from '../../../src/telemetry/trace-context.js';

/** The smallest synchronous context manager: enough for context.with() around a synchronous call. */
class StackContextManager implements ContextManager {
  private stack: Context[] = [];
  active(): Context {
    return this.stack[this.stack.length - 1] ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    this.stack.push(ctx);
    try {
      return fn.call(thisArg, ...args);
    } finally {
      this.stack.pop();
    }
  }
  bind<T>(_ctx: Context, target: T): T {
    return target;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.stack = [];
    return this;
  }
}

describe('trace context of a record', () => {
  beforeAll(() => {
    context.setGlobalContextManager(new StackContextManager());
  });
  afterAll(() => {
    context.disable();
  });

  it('the caller\'s active OpenTelemetry span wins', () => {
    const span = { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.SAMPLED };
    const ctx = trace.setSpanContext(ROOT_CONTEXT, span);
    expect(context.with(ctx, () => formatTraceparent(activeSpanContext()!))).toBe('00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01');
    expect(activeSpanContext()).toBeUndefined();
  });

  it('else the event\'s own trace: 2.0.0 record with its span id, 1.x trace_id with the event id as span', () => {
    expect(traceparentOf({ event_id: 'x', trace: { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7', trace_flags: 0 } })).toBe(
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00',
    );
    expect(traceparentOf({ event_id: '5b0e3c1e-1f2a-4c3b-9d4e-5f6a7b8c9d0e', trace_id: '4bf92f3577b34da6a3ce929d0e0e4736' })).toBe(
      '00-4bf92f3577b34da6a3ce929d0e0e4736-5b0e3c1e1f2a4c3b-01',
    );
  });

  it('leaves the header out rather than send an invalid one', () => {
    expect(traceparentOf({ event_id: 'x', trace_id: 'not-a-w3c-id' })).toBeUndefined();
    expect(traceparentOf({ event_id: 'x', trace_id: '0'.repeat(32) })).toBeUndefined();
    expect(traceparentOf({ event_id: 'x' })).toBeUndefined();
  });

  it('reads traceparent and tracestate headers as W3C says, ignoring what it must ignore', () => {
    const sc = parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', 'vendor=a,other=b');
    expect(sc).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true });
    expect(sc!.traceState!.get('vendor')).toBe('a');
    expect(spanContextOfHeaders({ traceparent: Buffer.from('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00') })?.traceFlags).toBe(0);
    // A future version may add fields; version 00 may not, ff is forbidden, ids must not be all zeros or upper case.
    expect(parseTraceparent('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra')?.spanId).toBe('00f067aa0ba902b7');
    for (const bad of [
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      'garbage',
    ]) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
    expect(spanContextOfHeaders({})).toBeUndefined();
  });

  it('names the flow by trace id, else correlation id, and sees errors on the envelope, the error record or the metadata', () => {
    expect(flowKeyOf({ trace_id: 't', correlation_id: 'c' })).toBe('t');
    expect(flowKeyOf({ trace: { trace_id: 't2' }, correlation_id: 'c' })).toBe('t2');
    expect(flowKeyOf({ correlation_id: 'c' })).toBe('c');
    expect(flowKeyOf({})).toBeUndefined();
    expect(carriesError({ error_code: 'ONEX_EVENT_602' })).toBe(true);
    expect(carriesError({ error: { code: 'ONEX_EVENT_602' } })).toBe(true);
    expect(carriesError({ metadata: { error_code: 'ONEX_RT_401' } })).toBe(true);
    expect(carriesError({ metadata: { extra: { error_code: 'ONEX_RT_401' } } })).toBe(true);
    expect(carriesError({ error_code: null, metadata: { input_state: {} } })).toBe(false);
  });
});
