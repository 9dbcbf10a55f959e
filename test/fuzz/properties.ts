/**
 * Property-based fuzzing of the pipeline's input boundaries (fast-check): the record decoder and event validation.
 * The same properties run twice: briefly in the unit suite (test/unit/fuzz) and long in `npm run fuzz`
 * (scripts/fuzz.ts, 1,000,000 decoder cases), so a long run and a CI run test one thing.
 *
 * The contract under test: whatever bytes or values arrive, the answer is a decoded event or a typed OnexError with
 * an ONEX code; never another exception (a TypeError, a RangeError from a buffer read, an avsc error leaking out).
 */
import fc from 'fast-check';
import { OnexEventCodec, type SchemaRegistryLike } from '../../src/codec/index.js';
import { isOnexError, onexError } from '../../src/errors/index.js';
import { validateDecodedEvent, validateEvent } from '../../src/event/index.js';
import { SCHEMA_VERSIONS, type SchemaVersion } from '../../src/schema/index.js';
import { generateEvent, rng } from '../fixtures/events/generate.js';

const ONEX_CODE = /^ONEX_[A-Z]+_\d{3}$/;

/** A registry in memory: the schema ids the codec registered, nothing else. */
class MemoryRegistry implements SchemaRegistryLike {
  private readonly texts: string[] = [];
  async register(_subject: string, schema: string): Promise<number> {
    const known = this.texts.indexOf(schema);
    return known >= 0 ? known + 1 : this.texts.push(schema);
  }
  async getSchema(id: number): Promise<string> {
    const text = this.texts[id - 1];
    if (text === undefined) throw onexError('ONEX_REG_200', `schema ${id} not found`);
    return text;
  }
}

export interface FuzzContext {
  codec: OnexEventCodec;
  /** Registered schema ids, one per version. */
  ids: number[];
}

export async function fuzzContext(): Promise<FuzzContext> {
  const codec = new OnexEventCodec({ registry: new MemoryRegistry() });
  const ids: number[] = [];
  for (const v of SCHEMA_VERSIONS) ids.push(await codec.prepare(v));
  return { codec, ids };
}

/** What a decode attempt came to: `decoded`, `error` (an OnexError), or the unexpected exception itself. */
type Outcome = { kind: 'decoded' } | { kind: 'error'; code: string } | { kind: 'crash'; error: unknown };

async function decodeOutcome(ctx: FuzzContext, bytes: Buffer, target: SchemaVersion): Promise<Outcome> {
  try {
    const decoded = ctx.codec.decodeSync(bytes, target) ?? (await ctx.codec.decode(bytes, target));
    // A decoded event must be safe to validate: validation gives a verdict (a downcast one may be invalid in the
    // older version, e.g. an event type that version lacks), it does not throw.
    const verdict = validateDecodedEvent(decoded.event, target, { mode: 'non-strict' });
    if (typeof verdict.valid !== 'boolean') throw new Error('validateDecodedEvent gave no verdict');
    return { kind: 'decoded' };
  } catch (error) {
    if (isOnexError(error) && ONEX_CODE.test(error.code)) return { kind: 'error', code: error.code };
    return { kind: 'crash', error };
  }
}

function assertNoCrash(outcome: Outcome, what: string): void {
  if (outcome.kind === 'crash') {
    const e = outcome.error as Error;
    throw new Error(`${what}: decode threw ${e?.constructor?.name ?? typeof e} instead of an OnexError: ${e?.message ?? String(e)}`);
  }
}

const version = fc.constantFrom(...SCHEMA_VERSIONS);

/** A valid record of a random version as the producer writes it (wire header + Avro body). */
const validRecord = (ctx: FuzzContext) =>
  fc.tuple(fc.integer({ min: 1, max: 2 ** 31 - 1 }), version).map(([seed, v]) => ctx.codec.encode(generateEvent(rng(seed), v), v));

/** Random bytes, half of them behind a well-formed header naming a schema the codec knows. */
export function randomBytesProperty(ctx: FuzzContext) {
  return fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.boolean(), fc.nat(ctx.ids.length - 1), version, async (raw, framed, idIndex, target) => {
    let bytes = Buffer.from(raw);
    if (framed) {
      const header = Buffer.alloc(5);
      header.writeUInt32BE(ctx.ids[idIndex]!, 1);
      bytes = Buffer.concat([header, bytes]);
    }
    assertNoCrash(await decodeOutcome(ctx, bytes, target), 'random bytes');
  });
}

/** A valid record with bytes overwritten, inserted or removed at random places. */
export function mutatedRecordProperty(ctx: FuzzContext) {
  const edit = fc.record({ at: fc.nat(), kind: fc.constantFrom('flip', 'set', 'insert', 'delete'), byte: fc.integer({ min: 0, max: 255 }) });
  return fc.asyncProperty(validRecord(ctx), fc.array(edit, { minLength: 1, maxLength: 6 }), version, async (record, edits, target) => {
    const bytes = [...record];
    for (const e of edits) {
      const at = bytes.length === 0 ? 0 : e.at % bytes.length;
      if (e.kind === 'flip') bytes[at] = (bytes[at] ?? 0) ^ (1 << e.byte % 8);
      else if (e.kind === 'set') bytes[at] = e.byte;
      else if (e.kind === 'insert') bytes.splice(at, 0, e.byte);
      else bytes.splice(at, 1);
    }
    assertNoCrash(await decodeOutcome(ctx, Buffer.from(bytes), target), 'mutated record');
  });
}

/** Every strict prefix of a valid record is refused with an ONEX code, and the whole record decodes. */
export function truncationProperty(ctx: FuzzContext) {
  return fc.asyncProperty(validRecord(ctx), version, async (record, target) => {
    for (let end = 0; end < record.length; end++) {
      const outcome = await decodeOutcome(ctx, record.subarray(0, end), target);
      assertNoCrash(outcome, `record cut at byte ${end} of ${record.length}`);
      if (outcome.kind !== 'error') throw new Error(`record cut at byte ${end} of ${record.length} decoded instead of being refused`);
    }
    const whole = await decodeOutcome(ctx, record, target);
    if (whole.kind !== 'decoded') throw new Error(`the whole record did not decode: ${JSON.stringify(whole)}`);
  });
}

/**
 * Non-strict validation returns a verdict with typed errors; strict validation agrees with it, throwing the first
 * of those errors exactly when the verdict is invalid. Returns the verdict.
 */
function assertValidationAnswers(value: unknown, what: string): boolean {
  const result = validateEvent(value, { mode: 'non-strict' });
  if (typeof result.valid !== 'boolean') throw new Error(`${what}: validateEvent gave no verdict`);
  if (!result.valid && result.errors.length === 0) throw new Error(`${what}: invalid without an error`);
  for (const e of result.errors) {
    if (!isOnexError(e) || !ONEX_CODE.test(e.code) || !e.message) throw new Error(`${what}: an error without an ONEX code or message: ${String(e)}`);
  }
  let thrown: unknown;
  try {
    validateEvent(value);
  } catch (e) {
    thrown = e;
  }
  if (result.valid && thrown !== undefined) throw new Error(`${what}: strict mode threw for an event non-strict mode passed: ${String(thrown)}`);
  if (!result.valid && !(isOnexError(thrown) && thrown.code === result.errors[0]!.code)) {
    throw new Error(`${what}: strict mode did not throw the first violation (${result.errors[0]!.code}), it gave ${String(thrown)}`);
  }
  return result.valid;
}

/** Any JSON value: validation answers with a verdict and typed errors, never throws. */
export function randomJsonProperty() {
  return fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
    assertValidationAnswers(value, 'random JSON');
  });
}

const ENVELOPE_KEYS = ['event_id', 'timestamp', 'node_id', 'event_type', 'correlation_id', 'metadata', 'schema_version', 'trace_id', 'parent_correlation_id', '__proto__', 'constructor'];

/** A valid event with one field replaced, removed or added: validation answers, and a removed required field is caught. */
export function nearValidEventProperty() {
  return fc.property(fc.integer({ min: 1, max: 2 ** 31 - 1 }), version, fc.constantFrom(...ENVELOPE_KEYS), fc.jsonValue({ maxDepth: 3 }), fc.constantFrom('replace', 'remove'), (seed, v, key, value, op) => {
    const event = JSON.parse(JSON.stringify(generateEvent(rng(seed), v))) as Record<string, unknown>;
    if (op === 'remove') delete event[key];
    else Object.defineProperty(event, key, { value, enumerable: true, writable: true, configurable: true });
    const valid = assertValidationAnswers(event, `event ${v} with ${key} ${op}d`);
    if (op === 'remove' && ['event_id', 'timestamp', 'node_id', 'event_type'].includes(key) && valid) {
      throw new Error(`event ${v} without ${key} passed validation`);
    }
  });
}
