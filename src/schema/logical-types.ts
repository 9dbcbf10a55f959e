import avro from 'avsc';
import { onexError } from '../errors/index.js';
import { formatTimestamp, timestampMicros } from '../event/index.js';

/**
 * avsc logical types that make avsc values the event form directly, so that decode, resolution and encode need no
 * second pass over the event:
 *  - timestamp-micros <-> ISO-8601 text with microseconds (a Date would drop them);
 *  - onex-json (our own, on a string) <-> any JSON value. Readers that do not know onex-json see the JSON text as a
 *    string, which is what the Avro specification asks of unknown logical types.
 */
type AvroType = avro.Type;

export class TimestampMicrosType extends avro.types.LogicalType {
  protected override _fromValue(micros: number): string | undefined {
    // A truncated buffer reads as NaN; avsc reports the truncation once the read is over.
    if (!Number.isFinite(micros)) return undefined;
    try {
      return formatTimestamp(micros);
    } catch (cause) {
      throw onexError('ONEX_EVENT_603', `The timestamp ${micros} µs is outside the range a date can take.`, { cause });
    }
  }

  protected override _toValue(value: unknown): number {
    if (typeof value === 'string') {
      const micros = timestampMicros(value);
      if (micros !== undefined) return micros;
    }
    throw onexError('ONEX_EVENT_603', `The timestamp ${JSON.stringify(value)} is not an ISO-8601 date-time.`);
  }

  protected override _resolve(type: AvroType): ((v: unknown) => unknown) | undefined {
    if (type instanceof TimestampMicrosType) return identity;
    if (avro.Type.isType(type, 'long', 'int')) return (v) => this._fromValue(v as number);
    return undefined;
  }
}

export class OnexJsonType extends avro.types.LogicalType {
  protected override _fromValue(text: string): unknown {
    if (typeof text !== 'string') return undefined; // truncated buffer, reported by avsc
    try {
      return JSON.parse(text) as unknown;
    } catch (cause) {
      throw onexError('ONEX_EVENT_603', 'A JSON field of the event does not hold valid JSON text.', { cause });
    }
  }

  protected override _toValue(value: unknown): string {
    let text: string | undefined;
    try {
      text = JSON.stringify(value);
    } catch (cause) {
      throw onexError('ONEX_EVENT_603', 'A JSON field of the event cannot be serialised (it holds a cycle or a bigint).', { cause });
    }
    if (text === undefined) throw onexError('ONEX_EVENT_603', `A JSON field of the event holds ${typeof value}, which JSON cannot carry.`);
    return text;
  }

  /**
   * Cheap on purpose: avsc asks every branch of a ["null", onex-json] union whether it takes the value before writing
   * it, and serialising there would serialise the metadata twice. Whether it serialises shows in _toValue.
   */
  _check(value: unknown, _flags?: unknown, hook?: (value: unknown, type: AvroType) => void): boolean {
    const ok = value !== null && value !== undefined && typeof value !== 'function' && typeof value !== 'symbol';
    if (!ok && hook) hook(value, this);
    return ok;
  }

  protected override _resolve(type: AvroType): ((v: unknown) => unknown) | undefined {
    if (type instanceof OnexJsonType) return identity;
    if (avro.Type.isType(type, 'string')) return (v) => this._fromValue(v as string);
    return undefined;
  }
}

function identity(v: unknown): unknown {
  return v;
}

export const LOGICAL_TYPES = Object.freeze({
  'timestamp-micros': TimestampMicrosType,
  'onex-json': OnexJsonType,
});
