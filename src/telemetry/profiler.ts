import { hostname } from 'node:os';
import { monitorEventLoopDelay, performance, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import { context, isSpanContextValid, ROOT_CONTEXT, trace, type SpanContext } from '@opentelemetry/api';
import * as hdr from 'hdr-histogram-js';
import { onexError } from '../errors/index.js';
import { flags } from '../flags/index.js';
import { logger } from '../logging/index.js';

/**
 * The pipeline profiling itself and the services that use it, without external tools: per operation and window
 * (default 10 s) a count, duration percentiles from an HDR histogram (µs resolution, 3 significant digits), CPU time,
 * the process's peak memory, event loop delay and GC pauses, emitted as one PERFORMANCE_PROFILE event per operation
 * and window through the sink given (an OnexProducer's emit).
 *
 * Cost per measured call: two performance.now() and one histogram record (~0.15 µs). CPU time is read with
 * process.cpuUsage() (~0.8 µs a call) on one call in `cpuSampleEvery` only and scaled by the count; it covers the
 * synchronous part of a call (up to its first await), the CPU the call itself burns, not what other work does while it
 * waits. Memory, event loop delay and GC pauses are process-wide over the window (the same for every operation of
 * the window), read by a timer and an observer, not per call. The trace of the window's slowest call is kept as an
 * exemplar: the profile is emitted inside that span context, so the producer fills the event's trace fields from it
 * and the profile sits in the trace that was slowest.
 *
 * `profile(operation, fn)` uses the profiler started with startProfiler(); without one (or with the
 * onex.telemetry.profiling flag off) it is a plain call of fn.
 */

export interface ProfilerOptions {
  /** Where a PERFORMANCE_PROFILE event goes: usually `(e) => producer.emit(e)`. A failure is logged, never thrown. */
  readonly emit: (event: Record<string, unknown>) => unknown;
  /** node_id of the profile events; default `profiler_<hostname>-<pid>`. */
  readonly nodeId?: string;
  /** Aggregation window, ms; default 10,000. */
  readonly windowMs?: number;
  /** Fraction of calls measured, (0, 1]; default 1 (counts are scaled back). */
  readonly sampleRate?: number;
  /** One measured call in this many also reads CPU time; default 16. */
  readonly cpuSampleEvery?: number;
  /** Event loop delay sampling resolution, ms; default 20. */
  readonly loopResolutionMs?: number;
}

/** One window's aggregate of one operation: what the PERFORMANCE_PROFILE event carries. */
export interface ProfileSummary {
  readonly operation: string;
  readonly count: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly meanMs: number;
  readonly cpuTimeMs: number;
}

const FLAG = 'onex.telemetry.profiling';
const log = logger('profiler');

class Operation {
  readonly histogram = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: 3, useWebAssembly: false });
  measured = 0;
  cpuSampled = 0;
  cpuMicros = 0;
  maxMicros = 0;
  exemplar: SpanContext | undefined;
  constructor(readonly name: string) {}

  reset(): void {
    this.histogram.reset();
    this.measured = 0;
    this.cpuSampled = 0;
    this.cpuMicros = 0;
    this.maxMicros = 0;
    this.exemplar = undefined;
  }
}

/** A started measurement: stop() it when the operation ends (sync or async). */
export interface Measurement {
  stop(): void;
}
const NOT_MEASURED: Measurement = Object.freeze({ stop() {} });

class Running implements Measurement {
  private readonly t0 = performance.now();
  constructor(
    private readonly profiler: Profiler,
    private readonly op: Operation,
  ) {}
  stop(): void {
    this.profiler.record(this.op, performance.now() - this.t0);
  }
}

export class Profiler {
  private readonly ops = new Map<string, Operation>();
  private readonly emitTo: (event: Record<string, unknown>) => unknown;
  private readonly nodeId: string;
  readonly windowMs: number;
  private readonly sampleRate: number;
  private readonly cpuSampleEvery: number;
  private readonly loop: IntervalHistogram;
  private readonly gc: PerformanceObserver;
  private readonly timer: NodeJS.Timeout;
  private readonly memoryTimer: NodeJS.Timeout;
  private calls = 0;
  private windowStart = Date.now();
  private gcMs = 0;
  private gcCount = 0;
  private rssPeak = 0;
  private heapPeak = 0;
  private closed = false;
  /** Profile events that could not be emitted (the sink threw or rejected). */
  emitFailures = 0;

  constructor(options: ProfilerOptions) {
    const o = options as ProfilerOptions | undefined;
    if (!o || typeof o.emit !== 'function') throw onexError('ONEX_RT_407', 'invalid profiler option emit: pass a function that emits an event, e.g. (e) => producer.emit(e)');
    const num = (name: keyof ProfilerOptions, v: unknown, fallback: number, ok: (n: number) => boolean, want: string) => {
      if (v === undefined) return fallback;
      if (typeof v !== 'number' || !ok(v)) throw onexError('ONEX_RT_407', `invalid profiler option ${name}: ${JSON.stringify(v)}; it must be ${want}`);
      return v;
    };
    this.windowMs = num('windowMs', o.windowMs, 10_000, (n) => Number.isInteger(n) && n >= 10, 'an integer number of milliseconds, at least 10');
    this.sampleRate = num('sampleRate', o.sampleRate, 1, (n) => n > 0 && n <= 1, 'a fraction in (0, 1]');
    this.cpuSampleEvery = num('cpuSampleEvery', o.cpuSampleEvery, 16, (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
    const resolution = num('loopResolutionMs', o.loopResolutionMs, 20, (n) => Number.isInteger(n) && n >= 1, 'a positive integer number of milliseconds');
    if (o.nodeId !== undefined && (typeof o.nodeId !== 'string' || o.nodeId.trim() === '')) throw onexError('ONEX_RT_407', 'invalid profiler option nodeId: it must be a non-empty string');
    this.emitTo = o.emit;
    this.nodeId = o.nodeId ?? `profiler_${hostname()}-${process.pid}`;
    this.loop = monitorEventLoopDelay({ resolution });
    this.loop.enable();
    this.gc = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.gcMs += e.duration;
        this.gcCount++;
      }
    });
    this.gc.observe({ entryTypes: ['gc'] });
    this.sampleMemory();
    this.memoryTimer = setInterval(() => this.sampleMemory(), Math.min(250, this.windowMs)).unref();
    this.timer = setInterval(() => void this.flush(), this.windowMs).unref();
  }

  /** Starts measuring one call of `operation`; stop() the result when it ends. */
  start(operation: string): Measurement {
    if (this.closed || !switchedOn) return NOT_MEASURED;
    if (this.sampleRate < 1 && Math.random() >= this.sampleRate) return NOT_MEASURED;
    let op = this.ops.get(operation);
    if (!op) this.ops.set(operation, (op = new Operation(operation)));
    return new Running(this, op);
  }

  /** Runs fn as one call of `operation` (sync or async) and measures it; fn's result and exceptions pass through. */
  profile<T>(operation: string, fn: () => T): T {
    const m = this.start(operation);
    if (m === NOT_MEASURED) return fn();
    const cpu = ++this.calls % this.cpuSampleEvery === 0 ? process.cpuUsage() : undefined;
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.cpu(operation, cpu);
      m.stop();
      throw err;
    }
    this.cpu(operation, cpu);
    if (result !== null && typeof result === 'object' && typeof (result as { then?: unknown }).then === 'function') {
      return (result as unknown as Promise<unknown>).then(
        (v) => {
          m.stop();
          return v;
        },
        (err: unknown) => {
          m.stop();
          throw err;
        },
      ) as T;
    }
    m.stop();
    return result;
  }

  /** @internal one finished call. */
  record(op: Operation, ms: number): void {
    const us = Math.max(1, Math.round(ms * 1000));
    op.histogram.recordValue(us);
    op.measured++;
    if (us > op.maxMicros) {
      op.maxMicros = us;
      const sc = trace.getSpanContext(context.active());
      op.exemplar = sc && isSpanContextValid(sc) ? sc : op.exemplar;
    }
  }

  private cpu(operation: string, before: NodeJS.CpuUsage | undefined): void {
    if (!before) return;
    const d = process.cpuUsage(before);
    const op = this.ops.get(operation)!;
    op.cpuSampled++;
    op.cpuMicros += d.user + d.system;
  }

  private sampleMemory(): void {
    const m = process.memoryUsage();
    if (m.rss > this.rssPeak) this.rssPeak = m.rss;
    if (m.heapUsed > this.heapPeak) this.heapPeak = m.heapUsed;
  }

  /** The current window's aggregates (what flush() would emit), without resetting. */
  summaries(): ProfileSummary[] {
    const out: ProfileSummary[] = [];
    for (const op of this.ops.values()) {
      if (op.measured === 0) continue;
      const h = op.histogram;
      const count = Math.round(op.measured / this.sampleRate);
      out.push({
        operation: op.name,
        count,
        p50Ms: h.getValueAtPercentile(50) / 1000,
        p95Ms: h.getValueAtPercentile(95) / 1000,
        p99Ms: h.getValueAtPercentile(99) / 1000,
        maxMs: op.maxMicros / 1000,
        meanMs: h.mean / 1000,
        cpuTimeMs: op.cpuSampled ? (op.cpuMicros / op.cpuSampled / 1000) * count : 0,
      });
    }
    return out;
  }

  /** Emits one PERFORMANCE_PROFILE event per operation measured in the window, then starts a new window. */
  async flush(): Promise<number> {
    this.sampleMemory();
    const end = Date.now();
    const windowMs = end - this.windowStart;
    const loop = {
      event_loop_delay_p50_ms: round(this.loop.percentile(50) / 1e6),
      event_loop_delay_p99_ms: round(this.loop.percentile(99) / 1e6),
      event_loop_delay_max_ms: round(this.loop.max / 1e6),
    };
    const events: Array<{ event: Record<string, unknown>; exemplar: SpanContext | undefined }> = [];
    for (const s of this.summaries()) {
      const op = this.ops.get(s.operation)!;
      events.push({
        exemplar: op.exemplar,
        event: {
          node_id: this.nodeId,
          event_type: 'PERFORMANCE_PROFILE',
          metadata: {
            operation: s.operation,
            duration_ms: round(s.meanMs),
            cpu_time_ms: round(s.cpuTimeMs),
            memory_peak_bytes: this.rssPeak,
            sample_count: s.count,
            breakdown: {
              window_ms: windowMs,
              window_start: new Date(this.windowStart).toISOString(),
              p50_ms: round(s.p50Ms),
              p95_ms: round(s.p95Ms),
              p99_ms: round(s.p99Ms),
              max_ms: round(s.maxMs),
              measured: op.measured,
              cpu_sampled: op.cpuSampled,
              heap_used_peak_bytes: this.heapPeak,
              ...loop,
              gc_pause_ms: round(this.gcMs),
              gc_count: this.gcCount,
              ...(op.exemplar ? { max_trace_id: op.exemplar.traceId } : {}),
            },
          },
        },
      });
      op.reset();
    }
    this.windowStart = end;
    this.loop.reset();
    this.gcMs = 0;
    this.gcCount = 0;
    this.rssPeak = 0;
    this.heapPeak = 0;
    await Promise.all(events.map((e) => this.send(e.event, e.exemplar)));
    return events.length;
  }

  private async send(event: Record<string, unknown>, exemplar: SpanContext | undefined): Promise<void> {
    try {
      const ctx = exemplar ? trace.setSpanContext(ROOT_CONTEXT, exemplar) : ROOT_CONTEXT;
      await context.with(ctx, () => this.emitTo(event));
    } catch (err) {
      if (this.emitFailures++ % 100 === 0) log.warn({ err: (err as Error)?.message, operation: (event.metadata as { operation: string }).operation, failures: this.emitFailures }, 'a PERFORMANCE_PROFILE event could not be emitted; profiling goes on');
    }
  }

  /** Emits the last window and stops the timers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.memoryTimer);
    await this.flush();
    this.loop.disable();
    this.gc.disconnect();
    if (active === this) active = undefined;
  }
}

const round = (n: number) => Math.round(n * 1000) / 1000;

let active: Profiler | undefined;
let followed = false;
let switchedOn = true;

function follow(): void {
  followed = true;
  switchedOn = flags.isEnabled(FLAG, true);
  flags.onChange<boolean>(FLAG, (on) => {
    switchedOn = on;
  });
}

/** Starts the process's profiler (the one profile() and the producer's and worker's automatic profiles use). */
export function startProfiler(options: ProfilerOptions): Profiler {
  if (!followed) follow();
  const p = new Profiler(options);
  const previous = active;
  active = p;
  if (previous) void previous.close();
  return p;
}

/** The process's profiler when one is started and the onex.telemetry.profiling flag is on; else undefined. */
export function activeProfiler(): Profiler | undefined {
  return active && switchedOn ? active : undefined;
}

/** Runs fn as one call of `operation`, measured by the process's profiler if there is one. */
export function profile<T>(operation: string, fn: () => T): T {
  const p = active;
  return p && switchedOn ? p.profile(operation, fn) : fn();
}
