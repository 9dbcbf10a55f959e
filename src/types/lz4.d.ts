// The lz4 package ships no types; these are the two calls we use (LZ4 frame format encode/decode).
declare module 'lz4' {
  export function encode(input: Buffer, options?: { blockMaxSize?: number; highCompression?: boolean; streamChecksum?: boolean; blockChecksum?: boolean }): Buffer;
  export function decode(input: Buffer): Buffer;
  const lz4: { encode: typeof encode; decode: typeof decode };
  export default lz4;
}
