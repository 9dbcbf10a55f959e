import { onexError } from '../errors/index.js';

/**
 * The Confluent wire format every Confluent-compatible client speaks: byte 0 is the magic byte 0, bytes 1-4 the
 * schema id (big-endian int32), the rest the Avro binary body.
 */
export const MAGIC_BYTE = 0;
export const WIRE_HEADER_BYTES = 5;

export function writeWireFormat(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(WIRE_HEADER_BYTES + body.length);
  body.copy(out, WIRE_HEADER_BYTES);
  return writeWireHeader(out, schemaId);
}

/** Writes the 5-byte header into the start of a buffer whose body already follows it; returns the buffer. */
export function writeWireHeader(out: Buffer, schemaId: number): Buffer {
  out[0] = MAGIC_BYTE;
  out.writeInt32BE(schemaId, 1);
  return out;
}

export interface WireFrame {
  schemaId: number;
  body: Buffer;
}

/** Splits a record value into schema id and body; ONEX_EVENT_604 for anything that is not the wire format. */
export function readWireFormat(value: Buffer | null | undefined): WireFrame {
  if (!value || value.length === 0) {
    throw onexError('ONEX_EVENT_604', 'The record has no value (a tombstone or an empty message), so there is no event to decode.');
  }
  if (value[0] !== MAGIC_BYTE) {
    throw onexError('ONEX_EVENT_604', `The record starts with byte 0x${value[0]!.toString(16).padStart(2, '0')}, not the wire-format magic byte 0x00: it was not written by a schema-registry serializer.`, {
      details: { firstByte: value[0] },
    });
  }
  if (value.length < WIRE_HEADER_BYTES) {
    throw onexError('ONEX_EVENT_604', `The record is ${value.length} bytes long, shorter than the 5-byte wire-format header.`, {
      details: { length: value.length },
    });
  }
  return { schemaId: value.readInt32BE(1), body: value.subarray(WIRE_HEADER_BYTES) };
}
