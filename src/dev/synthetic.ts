import { EVENT_TYPES, METADATA_RULES, type JsonObject, type OnexEventType, type SchemaVersion } from '../event/index.js';

/**
 * Valid synthetic ONEX events for load generation (`onex produce`), tests and benchmarks: every event type, metadata
 * that meets each type's standard, and flows: the events of one operation share a correlation id and a trace id,
 * in the order a node would emit them, and a failing flow ends in failure events with ONEX error codes.
 * Events come in the form of the schema version they are built for (1.0.0 has no schema_version, 2.0.0 has typed
 * metadata, a trace record and an error record). event_id and timestamp are left to the producer.
 */

export interface SyntheticOptions {
  /** Flows take these versions in turn. Default ['1.3.0']. */
  readonly versions?: readonly SchemaVersion[];
  /** Only these types (each must exist in at least one of the versions). Default: every type. */
  readonly eventTypes?: readonly OnexEventType[];
  /** Approximate encoded size of each event: metadata is padded up to it. Default: no padding (about 0.5-1 KB). */
  readonly sizeBytes?: number;
  /** Fraction of operation flows that fail (NODE_FAILURE, TELEMETRY_OPERATION_ERROR). Default 0.1. */
  readonly failureRate?: number;
  /** Same seed, same events (ids included). Default 1. */
  readonly seed?: number;
}

export interface SyntheticEvent {
  readonly event: Record<string, unknown>;
  readonly version: SchemaVersion;
  /** The flow it belongs to (its correlation id). */
  readonly flowId: string;
}

/** Flow templates: which types a flow holds, in emit order. `fail` variants replace the success types. */
const FLOWS: ReadonlyArray<{ name: string; types: readonly OnexEventType[]; failTypes?: readonly OnexEventType[] }> = [
  {
    name: 'operation',
    types: ['NODE_START', 'TELEMETRY_OPERATION_START', 'TELEMETRY_OPERATION_SUCCESS', 'STRUCTURED_LOG', 'PERFORMANCE_PROFILE', 'NODE_SUCCESS'],
    failTypes: ['NODE_START', 'TELEMETRY_OPERATION_START', 'TELEMETRY_OPERATION_ERROR', 'STRUCTURED_LOG', 'NODE_FAILURE', 'ALERT_TRIGGERED', 'ALERT_RESOLVED'],
  },
  { name: 'discovery', types: ['NODE_DISCOVERY_REQUEST', 'NODE_DISCOVERY_RESPONSE', 'INTROSPECTION_REQUEST', 'INTROSPECTION_RESPONSE'] },
  { name: 'registration', types: ['NODE_REGISTER', 'NODE_ANNOUNCE', 'NODE_ANNOUNCE_ACCEPTED'], failTypes: ['NODE_REGISTER', 'NODE_ANNOUNCE', 'NODE_ANNOUNCE_REJECTED'] },
];

const NODE_TYPES = ['stamper', 'validator', 'registry', 'tree_generator', 'parity', 'scaffold'];
const OPERATIONS = ['stamp_file', 'validate_metadata', 'resolve_handler', 'generate_tree', 'check_parity', 'render_scaffold'];
const ERROR_CODES = ['ONEX_STAMP_002', 'ONEX_VALID_102', 'ONEX_REG_203', 'ONEX_RT_401', 'ONEX_SYS_903'];
const PAD_CHUNK = 60_000; // below the 100 KB per-value limit

/** mulberry32: small, fast, and the same sequence everywhere for a seed (synthetic load, test data, benchmarks). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class SyntheticEvents {
  private readonly random: () => number;
  private readonly versions: readonly SchemaVersion[];
  private readonly allowed: ReadonlySet<OnexEventType> | undefined;
  private readonly failureRate: number;
  private readonly sizeBytes: number;
  private flowIndex = 0;
  private queue: SyntheticEvent[] = [];
  private readonly padCache = new Map<number, string>();

  constructor(options: SyntheticOptions = {}) {
    this.random = seededRandom(options.seed ?? 1);
    this.versions = options.versions?.length ? options.versions : ['1.3.0'];
    this.allowed = options.eventTypes?.length ? new Set(options.eventTypes) : undefined;
    this.failureRate = options.failureRate ?? 0.1;
    this.sizeBytes = options.sizeBytes ?? 0;
    if (this.allowed) {
      const known = new Set(this.versions.flatMap((v) => EVENT_TYPES[v]));
      const missing = [...this.allowed].filter((t) => !known.has(t));
      if (missing.length > 0) {
        throw new RangeError(`event types ${missing.join(', ')} exist in none of the versions ${this.versions.join(', ')}`);
      }
    }
  }

  /** The next event; flows are generated whole and handed out in order. */
  next(): SyntheticEvent {
    for (let guard = 0; this.queue.length === 0; guard++) {
      if (guard > 1000) throw new RangeError('no flow template yields any of the requested event types');
      this.queue = this.flow();
    }
    return this.queue.shift()!;
  }

  /** One whole flow (all its events share a correlation id and trace id). */
  flow(): SyntheticEvent[] {
    const n = this.flowIndex++;
    const version = this.versions[n % this.versions.length]!;
    const template = FLOWS[Math.floor(n / this.versions.length) % FLOWS.length]!;
    const fails = template.failTypes !== undefined && this.random() < this.failureRate;
    const known = EVENT_TYPES[version] as readonly string[];
    const types = (fails ? template.failTypes! : template.types).filter((t) => known.includes(t) && (!this.allowed || this.allowed.has(t)));
    const correlationId = this.uuid();
    const traceId = this.hex(32);
    const nodeType = NODE_TYPES[n % NODE_TYPES.length]!;
    const nodeId = `${nodeType}_node-${String(1 + (n % 17)).padStart(3, '0')}`;
    const operation = OPERATIONS[n % OPERATIONS.length]!;
    const errorCode = ERROR_CODES[n % ERROR_CODES.length]!;
    const parent = n % 5 === 0 ? this.uuid() : null;
    return types.map((type) => ({
      version,
      flowId: correlationId,
      event: this.event(version, type, { correlationId, traceId, nodeId, operation, errorCode, parent, nodeType }),
    }));
  }

  private event(
    version: SchemaVersion,
    type: OnexEventType,
    f: { correlationId: string; traceId: string; nodeId: string; operation: string; errorCode: string; parent: string | null; nodeType: string },
  ): Record<string, unknown> {
    const failure = type === 'NODE_FAILURE' || type === 'TELEMETRY_OPERATION_ERROR' || type === 'NODE_ANNOUNCE_REJECTED' || type === 'ALERT_TRIGGERED';
    const metadata = this.metadata(type, f);
    const e: Record<string, unknown> = { node_id: f.nodeId, event_type: type, correlation_id: f.correlationId };
    if (version === '2.0.0') {
      e.schema_version = version;
      e.parent_correlation_id = f.parent;
      e.trace = { trace_id: f.traceId, span_id: this.hex(16), trace_flags: 1 };
      if (failure) e.error = { code: f.errorCode, severity: 'ERROR', recoverable: 'Retry' };
      const typed = Object.hasOwn(METADATA_RULES, type);
      const pad = this.padding(metadata);
      e.metadata = typed ? (pad ? { ...metadata, extra: pad } : metadata) : { untyped: { ...metadata, ...pad } };
    } else {
      if (version !== '1.0.0') {
        e.schema_version = version;
        e.trace_id = f.traceId;
        e.parent_correlation_id = f.parent;
        if (failure) e.error_code = f.errorCode;
      }
      e.metadata = { ...metadata, ...this.padding(metadata) };
    }
    return e;
  }

  private metadata(type: OnexEventType, f: { operation: string; errorCode: string; nodeType: string; nodeId: string }): JsonObject {
    const r = this.random;
    const input: JsonObject = { path: `src/${f.nodeType}/${f.operation}.py`, options: { dry_run: r() < 0.2, retries: Math.floor(r() * 3) } };
    const ms = Math.round(r() * 5000) / 10;
    switch (type) {
      case 'NODE_START':
        return { input_state: input, node_version: '1.4.2', operation_type: f.operation };
      case 'NODE_SUCCESS':
        return { input_state: input, output_state: { status: 'ok', files_changed: Math.floor(r() * 20) }, execution_time_ms: ms, result_summary: `${f.operation} completed` };
      case 'NODE_FAILURE':
        return { input_state: input, error: `${f.operation} failed: resource temporarily unavailable`, error_type: 'OnexError', error_code: f.errorCode, execution_time_ms: ms, stack_trace: `Traceback (most recent call last):\n  File "${f.nodeType}.py", line ${10 + Math.floor(r() * 400)}, in run` };
      case 'TELEMETRY_OPERATION_START':
        return { operation: f.operation, function: `${f.nodeType}.run`, args_count: 2, kwargs_keys: ['path', 'options'], context: { host: 'worker-3', attempt: 1 } };
      case 'TELEMETRY_OPERATION_SUCCESS':
        return { operation: f.operation, function: `${f.nodeType}.run`, execution_time_ms: ms, result_type: 'dict', success: true, performance_metrics: { cpu_ms: Math.round(ms * 0.7), io_ms: Math.round(ms * 0.2) } };
      case 'TELEMETRY_OPERATION_ERROR':
        return { operation: f.operation, function: `${f.nodeType}.run`, execution_time_ms: ms, error_type: 'TimeoutError', error_message: 'the operation timed out', success: false, error_code: f.errorCode, recoverable: true };
      case 'PERFORMANCE_PROFILE':
        return { operation: f.operation, duration_ms: ms, cpu_time_ms: Math.round(ms * 0.7), memory_peak_bytes: 1_000_000 + Math.floor(r() * 50_000_000), sample_count: 100, breakdown: { parse: Math.round(ms * 0.3), run: Math.round(ms * 0.7) } };
      case 'STRUCTURED_LOG':
        return { level: 'INFO', message: `${f.operation} step finished`, logger: `onex.${f.nodeType}` };
      case 'ALERT_TRIGGERED':
      case 'ALERT_RESOLVED':
        return { rule: 'error-rate-above-5pct', severity: 'ERROR', window_s: 300, error_code: f.errorCode };
      default:
        return { node_type: f.nodeType, node_id: f.nodeId, capabilities: ['stamp', 'validate'], version: '1.4.2' };
    }
  }

  /** Padding keys that bring the event to about sizeBytes (envelope and metadata counted as JSON text). */
  private padding(metadata: JsonObject): Record<string, string> | undefined {
    if (this.sizeBytes <= 0) return undefined;
    const base = JSON.stringify(metadata).length + 180; // envelope fields in Avro: ids, timestamp, type, versions
    let rest = this.sizeBytes - base;
    if (rest <= 16) return undefined;
    const pad: Record<string, string> = {};
    for (let i = 0; rest > 16; i++) {
      const n = Math.min(PAD_CHUNK, rest - 16);
      pad[`padding_${i}`] = this.padText(n);
      rest -= n + 16;
    }
    return pad;
  }

  /** Text that compresses like real payloads (words, numbers), not like a run of one letter. */
  private padText(n: number): string {
    let text = this.padCache.get(n);
    if (text === undefined) {
      const words = ['node', 'state', 'handler', 'metadata', 'stamp', 'trace', 'value', 'result', 'input', 'output'];
      const parts: string[] = [];
      let len = 0;
      for (let i = 0; len < n; i++) {
        const w = `${words[Math.floor(this.random() * words.length)]}${Math.floor(this.random() * 1000)} `;
        parts.push(w);
        len += w.length;
      }
      text = parts.join('').slice(0, n);
      if (this.padCache.size < 16) this.padCache.set(n, text);
    }
    return text;
  }

  private hex(digits: number): string {
    let s = '';
    while (s.length < digits) s += Math.floor(this.random() * 0x1_0000_0000).toString(16).padStart(8, '0');
    return s.slice(0, digits);
  }

  private uuid(): string {
    const h = this.hex(32);
    const variant = ((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16);
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${variant}${h.slice(17, 20)}-${h.slice(20, 32)}`;
  }
}
