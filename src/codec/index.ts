export { OnexEventCodec, defaultSubjectFor, registryFromClient, registryFromUrl } from './event-codec.js';
export type { DecodedEvent, EventCodecOptions, SchemaRegistryLike } from './event-codec.js';
export { MAGIC_BYTE, WIRE_HEADER_BYTES, readWireFormat, writeWireFormat } from './wire-format.js';
export type { WireFrame } from './wire-format.js';
