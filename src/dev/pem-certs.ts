import { createPrivateKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

/**
 * Test and development certificates in PEM, made with node:crypto alone (no openssl, no download): a CA and a server
 * certificate it signs, for the HTTPS registry and any TLS test. node:crypto signs but does not build certificates,
 * so the few DER structures of an X.509 v3 certificate (RFC 5280 section 4.1) are written here: EC P-256 keys,
 * ecdsa-with-SHA256, basicConstraints, keyUsage, extendedKeyUsage and subjectAltName (IP and DNS names).
 * Not a PKI: no revocation, no key identifiers, short validity.
 */

export interface PemCertificates {
  /** CA certificate (PEM): what a client trusts. */
  ca: string;
  /** Server certificate (PEM) for `hosts`, signed by the CA. */
  cert: string;
  /** The server's private key (PKCS#8 PEM). */
  key: string;
}

// ---- DER -------------------------------------------------------------------------------------------------------

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}
const tlv = (tag: number, ...content: Buffer[]) => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...c: Buffer[]) => tlv(0x30, ...c);
const set = (...c: Buffer[]) => tlv(0x31, ...c);
const octets = (b: Buffer) => tlv(0x04, b);
const bits = (b: Buffer, unused = 0) => tlv(0x03, Buffer.from([unused]), b);
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
const explicit = (n: number, c: Buffer) => tlv(0xa0 + n, c);

function integer(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  return tlv(0x02, v[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), v]) : v);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split('.').map(Number);
  const out = [40 * parts[0]! + parts[1]!];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = p >> 7; v > 0; v >>= 7) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

function time(d: Date): Buffer {
  // UTCTime YYMMDDHHMMSSZ (dates before 2050, RFC 5280 4.1.2.5.1).
  const s = d.toISOString().replace(/[-:T]/g, '').slice(2, 14);
  return tlv(0x17, Buffer.from(`${s}Z`, 'ascii'));
}

const name = (cn: string) => seq(set(seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn, 'utf8')))));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));
const extension = (id: string, critical: boolean, value: Buffer) => seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));

function altNames(hosts: string[]): Buffer {
  return seq(
    ...hosts.map((h) => {
      if (isIP(h) === 4) return tlv(0x87, Buffer.from(h.split('.').map(Number)));
      if (isIP(h) === 6) throw new Error('IPv6 names are not supported here');
      return tlv(0x82, Buffer.from(h, 'ascii'));
    }),
  );
}

function certificate(o: { subject: string; issuer: string; publicKey: KeyObject; signer: KeyObject; days: number; extensions: Buffer[] }): string {
  const now = Date.now();
  const tbs = seq(
    explicit(0, integer(Buffer.from([2]))),
    integer(Buffer.concat([Buffer.from([0x01]), randomBytes(15)])),
    ECDSA_SHA256,
    name(o.issuer),
    seq(time(new Date(now - 60_000)), time(new Date(now + o.days * 86_400_000))),
    name(o.subject),
    o.publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, seq(...o.extensions)),
  );
  const der = seq(tbs, ECDSA_SHA256, bits(sign('sha256', tbs, o.signer)));
  const b64 = der.toString('base64').replace(/(.{64})/g, '$1\n').trim();
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/**
 * A CA and a server certificate for `hosts` (default 127.0.0.1 and localhost), valid for `days` (default 7). With
 * `usage: 'client'` the certificate is a client's (extendedKeyUsage clientAuth, for mutual TLS): `commonName` is then
 * the principal the server sees.
 */
export function makePemCertificates(options: { hosts?: string[]; days?: number; commonName?: string; usage?: 'server' | 'client' } = {}): PemCertificates {
  const hosts = options.hosts ?? ['127.0.0.1', 'localhost'];
  const days = options.days ?? 7;
  const caKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const serverKeys = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = 'onex test CA';
  const ca = certificate({
    subject: caName,
    issuer: caName,
    publicKey: caKeys.publicKey,
    signer: caKeys.privateKey,
    days,
    extensions: [
      extension('2.5.29.19', true, seq(bool(true))), // basicConstraints: CA
      extension('2.5.29.15', true, bits(Buffer.from([0x06]), 1)), // keyUsage: keyCertSign, cRLSign
    ],
  });
  const cert = certificate({
    subject: options.commonName ?? hosts[0]!,
    issuer: caName,
    publicKey: serverKeys.publicKey,
    signer: caKeys.privateKey,
    days,
    extensions: [
      extension('2.5.29.19', true, seq()), // basicConstraints: not a CA
      extension('2.5.29.15', true, bits(Buffer.from([0x80]), 7)), // keyUsage: digitalSignature
      // extendedKeyUsage: serverAuth (1.3.6.1.5.5.7.3.1) or clientAuth (1.3.6.1.5.5.7.3.2)
      extension('2.5.29.37', false, seq(oid(options.usage === 'client' ? '1.3.6.1.5.5.7.3.2' : '1.3.6.1.5.5.7.3.1'))),
      extension('2.5.29.17', false, altNames(hosts)),
    ],
  });
  const key = createPrivateKey(serverKeys.privateKey.export({ type: 'pkcs8', format: 'pem' })).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { ca, cert, key };
}
