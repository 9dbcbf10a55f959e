/**
 * The Avro binary primitives (zig-zag varint longs, length-prefixed UTF-8 strings, little-endian doubles) that the
 * compiled event codecs (compile.ts) call. One write position and one read position per process, like avsc's Tap,
 * but as module state rather than an object, so that the calls of a compiled codec are plain function calls.
 *
 * Writes past the end of the target are dropped, not thrown: the writer checks `written()` against the buffer once,
 * at the end, and writes again into a larger buffer (a typed array ignores stores out of its range; the two calls
 * that would throw, utf8Write and writeDoubleLE, are guarded).
 */

type Utf8Buffer = Buffer & {
  utf8Write(text: string, offset: number, length?: number): number;
  utf8Slice(start: number, end: number): string;
};

let out = Buffer.alloc(0) as Utf8Buffer;
let at = 0;
let writing = false;

/**
 * Throws when a write is under way: a value's toJSON may encode another event while its own event is being written,
 * and the position is shared. The inner encode then goes avsc's way.
 */
export function startWriting(target: Buffer, offset: number): void {
  if (writing) throw new Error('an Avro write is already under way');
  writing = true;
  out = target as Utf8Buffer;
  at = offset;
}

/** Where the next byte would go; more than the buffer's length when the value did not fit. */
export function written(): number {
  return at;
}

/** Releases the target, so a finished buffer is not kept alive by the writer. */
export function stopWriting(): void {
  out = EMPTY;
  writing = false;
}

const EMPTY = Buffer.alloc(0) as Utf8Buffer;

export function writeLong(n: number): void {
  // avsc's algorithm (utils.js Tap.writeLong), so the bytes are the same.
  const buf = out;
  if (n >= -1073741824 && n < 1073741824) {
    let m = n >= 0 ? n << 1 : (~n << 1) | 1;
    do {
      buf[at] = m & 0x7f;
      m >>= 7;
    } while (m && (buf[at++]! |= 0x80));
  } else {
    let f = n >= 0 ? n * 2 : -n * 2 - 1;
    do {
      buf[at] = f & 0x7f;
      f /= 128;
    } while (f >= 1 && (buf[at++]! |= 0x80));
  }
  at++;
}

export function writeBoolean(b: boolean): void {
  out[at++] = b ? 1 : 0;
}

export function writeDouble(d: number): void {
  if (at + 8 <= out.length) out.writeDoubleLE(d, at);
  at += 8;
}

/** Bytes known in advance (a field default, encoded once by avsc). */
export function writeRaw(bytes: Uint8Array): void {
  if (at + bytes.length <= out.length) out.set(bytes, at);
  at += bytes.length;
}

/**
 * A string: its UTF-8 length as a long, then its UTF-8 bytes. Short ASCII strings (ids, names, enum-like values) are
 * copied char by char behind a one-byte length; others are written by utf8Write straight into the target behind a
 * length guessed from the char count, which is moved only in the rare case the guess was a byte short. avsc measures
 * every string with Buffer.byteLength first, a second pass over it.
 */
export function writeString(s: string): void {
  const n = s.length;
  const buf = out;
  if (n < 64 && at + 1 + n <= buf.length) {
    const start = at + 1;
    let i = 0;
    for (; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) break;
      buf[start + i] = c;
    }
    if (i === n) {
      buf[at] = n << 1; // zig-zag of n < 64: one byte
      at = start + n;
      return;
    }
  }
  writeUtf8(s, n);
}

function writeUtf8(s: string, n: number): void {
  const buf = out;
  if (n <= 64) {
    const len = Buffer.byteLength(s);
    if (len <= 64) return writeShortUtf8(s, n, len);
  }
  // UTF-8 takes n to 3n bytes for n UTF-16 units; with room for the worst case, write first and count after.
  if (at + 5 + 3 * n > buf.length) {
    const len = Buffer.byteLength(s);
    writeLong(len);
    if (at + len <= buf.length) buf.utf8Write(s, at, len);
    at += len;
    return;
  }
  const guess = varintBytes(n);
  const len = buf.utf8Write(s, at + guess);
  const head = varintBytes(len);
  if (head !== guess) buf.copyWithin(at + head, at + guess, at + guess + len);
  writeLong(len);
  at += len;
}

/**
 * avsc's encoder for strings of 64 bytes or less (utils.js Tap.writeString), kept for the same bytes in one corner:
 * a lone surrogate, which has no UTF-8 form, comes out as its 3-byte WTF-8 form here (and as U+FFFD in longer
 * strings, as Buffer writes it).
 */
function writeShortUtf8(s: string, n: number, len: number): void {
  writeLong(len);
  const buf = out;
  let p = at;
  at += len;
  if (at > buf.length) return;
  for (let i = 0; i < n; i++) {
    let c1 = s.charCodeAt(i);
    let c2: number;
    if (c1 < 0x80) buf[p++] = c1;
    else if (c1 < 0x800) {
      buf[p++] = (c1 >> 6) | 0xc0;
      buf[p++] = (c1 & 0x3f) | 0x80;
    } else if ((c1 & 0xfc00) === 0xd800 && ((c2 = s.charCodeAt(i + 1)) & 0xfc00) === 0xdc00) {
      c1 = 0x10000 + ((c1 & 0x03ff) << 10) + (c2 & 0x03ff);
      i++;
      buf[p++] = (c1 >> 18) | 0xf0;
      buf[p++] = ((c1 >> 12) & 0x3f) | 0x80;
      buf[p++] = ((c1 >> 6) & 0x3f) | 0x80;
      buf[p++] = (c1 & 0x3f) | 0x80;
    } else {
      buf[p++] = (c1 >> 12) | 0xe0;
      buf[p++] = ((c1 >> 6) & 0x3f) | 0x80;
      buf[p++] = (c1 & 0x3f) | 0x80;
    }
  }
}

/** Bytes of the zig-zag varint of a non-negative length. */
function varintBytes(len: number): number {
  if (len < 64) return 1;
  if (len < 8192) return 2;
  if (len < 1048576) return 3;
  if (len < 134217728) return 4;
  return 5;
}

let src = EMPTY;
let pos = 0;

export function startReading(buffer: Buffer): void {
  src = buffer as Utf8Buffer;
  pos = 0;
}

/** True when the value read ended exactly at the end of the buffer (no truncation, no trailing bytes). */
export function readToEnd(): boolean {
  const ok = pos === src.length;
  src = EMPTY;
  return ok;
}

export function readLong(): number {
  // avsc's algorithm (utils.js Tap.readLong).
  const buf = src;
  let n = 0;
  let k = 0;
  let b: number;
  let h: number;
  do {
    b = buf[pos++]!;
    h = b & 0x80;
    n |= (b & 0x7f) << k;
    k += 7;
  } while (h && k < 28);
  if (h) {
    let f = n;
    let fk = 268435456;
    do {
      b = buf[pos++]!;
      f += (b & 0x7f) * fk;
      fk *= 128;
    } while (b & 0x80);
    return (f % 2 ? -(f + 1) : f) / 2;
  }
  return (n >> 1) ^ -(n & 1);
}

export function readBoolean(): boolean {
  return !!src[pos++];
}

export function readDouble(): number {
  const d = src.readDoubleLE(pos); // throws past the end
  pos += 8;
  return d;
}

export function readString(): string {
  const b = src[pos]!;
  // A length under 64 is one byte (zig-zag: twice the length); an empty buffer reads undefined and goes the long way.
  const len = b < 0x80 && (b & 1) === 0 ? (pos++, b >> 1) : readLong();
  const start = pos;
  pos += len;
  if (len < 0 || pos > src.length) throw new RangeError('truncated string');
  return src.utf8Slice(start, pos);
}

export function readEnum(symbols: readonly string[]): string {
  const symbol = symbols[readLong()];
  if (symbol === undefined) throw new RangeError('invalid enum index');
  return symbol;
}

/** An Avro array: blocks of items, a negative count followed by the block's size in bytes, a zero count to end. */
export function readArray<T>(item: () => T): T[] {
  const items: T[] = [];
  let n: number;
  while ((n = readLong()) !== 0) {
    if (n < 0) {
      n = -n;
      readLong();
    }
    while (n--) {
      items.push(item());
      if (pos > src.length) throw new RangeError('truncated array'); // and a forged count cannot loop for long
    }
  }
  return items;
}

/** An index out of a union's range: the bytes are not what the schema says. */
export function badUnionIndex(): never {
  throw new RangeError('invalid union index');
}
