import { onexError, type OnexError } from '../errors/index.js';

/**
 * Turns the two transport failures a person must fix by hand into one clear ONEX line instead of a kafkajs stack:
 * SASL credentials the broker refused (ONEX_EVENT_634) and a broker certificate this client does not trust
 * (ONEX_EVENT_635). kafkajs wraps the original error (retries exceeded, non-retriable), so the chain of causes is
 * searched. The messages name what to check, never a credential: kafkajs's own SASL messages hold none either.
 */

/** Node's TLS verification failures (the codes tls.connect reports when the peer certificate is not trusted). */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * The TLS verification code when err is a certificate verification failure (by its code, or by Node's message when
 * a wrapper kept only the text), else undefined.
 */
export function untrustedTlsCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as Record<string, unknown>;
  const code = typeof e.code === 'string' ? e.code : undefined;
  if (code && UNTRUSTED.has(code)) return code;
  const message = typeof e.message === 'string' ? e.message : '';
  const byText = [...UNTRUSTED].find((c) => message.includes(c.toLowerCase().replace(/_/g, ' ')));
  if (byText) return byText;
  if (/self[- ]signed certificate|unable to verify the first certificate|certificate has expired/i.test(message)) return 'CERT_UNTRUSTED';
  if (/does not match certificate's altnames/i.test(message)) return 'ERR_TLS_CERT_ALTNAME_INVALID';
  return undefined;
}

/**
 * ONEX_EVENT_635 in one sentence: the broker, the TLS reason (Node's code and words, which hold no secret) and what
 * to change: the CA to trust, or for a certificate issued to other names, the name to connect by.
 */
export function untrustedCertificate(broker: string | undefined, tlsError: Record<string, unknown> | Error, cause: unknown): OnexError {
  const at = broker ? `Kafka at ${broker}` : 'Kafka';
  const e = tlsError as Record<string, unknown>;
  const code = untrustedTlsCode(e) ?? 'CERT_UNTRUSTED';
  const words = (typeof e.message === 'string' ? e.message : '').replace(/^Connection error: /, '').replace(/[.\s]+$/, '');
  const reason = words && words !== code ? `${code}: ${words}` : code;
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return onexError('ONEX_EVENT_635', `${at} presented a TLS certificate issued to other names (${reason}): connect by a host name or address the certificate lists, or set ssl.servername to one`, { cause });
  }
  return onexError('ONEX_EVENT_635', `${at} presented a TLS certificate this client does not trust (${reason}): give the CA that signed it as ssl.ca (ONEX_KAFKA_SSL_CA)`, { cause });
}

/** OpenSSL's alerts for a client certificate the server wanted and did not get, or got and does not accept. */
const CLIENT_CERT_REFUSED = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_EXPIRED',
]);

/** The alert code when err is the server refusing this client's certificate (or its absence), else undefined. */
export function clientCertRefusalCode(err: unknown): string | undefined {
  if (!err || typeof err !== 'object') return undefined;
  const e = err as Record<string, unknown>;
  if (typeof e.code === 'string' && CLIENT_CERT_REFUSED.has(e.code)) return e.code;
  const message = typeof e.message === 'string' ? e.message : '';
  const m = /tlsv13 alert certificate required|sslv3 alert bad certificate|sslv3 alert certificate unknown|tlsv1 alert unknown ca|tlsv1 alert access denied/i.exec(message);
  return m ? `ERR_SSL_${m[0].toUpperCase().replace(/ /g, '_')}` : undefined;
}

/**
 * ONEX_EVENT_636 in one sentence: the broker asked for a client certificate (mutual TLS, ssl.client.auth=required)
 * and this client gave none, or gave one the broker does not accept.
 */
export function refusedClientCertificate(broker: string | undefined, hadCertificate: boolean, tlsError: Record<string, unknown> | Error, cause: unknown): OnexError {
  const at = broker ? `Kafka at ${broker}` : 'Kafka';
  const code = clientCertRefusalCode(tlsError) ?? 'ERR_SSL_ALERT';
  const setIt = 'ssl.cert and ssl.key (ONEX_KAFKA_SSL_CERT / ONEX_KAFKA_SSL_KEY)';
  return hadCertificate
    ? onexError('ONEX_EVENT_636', `${at} refused this client's TLS certificate (${code}): give a client certificate signed by a CA the broker trusts as ${setIt}`, { cause })
    : onexError('ONEX_EVENT_636', `${at} requires a TLS client certificate and this client gave none (${code}): set ${setIt}`, { cause });
}

function chain(err: unknown): Array<Record<string, unknown>> {
  const seen: Array<Record<string, unknown>> = [];
  let e: unknown = err;
  while (e && typeof e === 'object' && seen.length < 8 && !seen.includes(e as Record<string, unknown>)) {
    const r = e as Record<string, unknown>;
    seen.push(r);
    e = r.cause ?? r.originalError;
  }
  return seen;
}

/**
 * ONEX_EVENT_634 / 635 / 636 when err is (or wraps) a refused SASL login, an untrusted broker certificate or a
 * refused client certificate. `hadCertificate` says whether the client gave one (only changes 636's words).
 */
export function transportFailure(err: unknown, where?: string, hadCertificate?: boolean): OnexError | undefined {
  const at = where ? `Kafka at ${where}` : 'Kafka';
  const causes = chain(err);
  for (const e of causes) {
    // Already said (the certificate check before connect, or a caller that classified it first).
    if (e.code === 'ONEX_EVENT_634' || e.code === 'ONEX_EVENT_635' || e.code === 'ONEX_EVENT_636') return e as unknown as OnexError;
    if (e.name === 'KafkaJSSASLAuthenticationError') {
      return onexError('ONEX_EVENT_634', `${at} refused the SASL login: check the sasl username, password and mechanism (ONEX_KAFKA_SASL_*)`, { cause: err });
    }
    if (untrustedTlsCode(e)) {
      // kafkajs's wrappers repeat the words; the connection error under them also has Node's code and the broker.
      const source = causes.find((c) => typeof c.code === 'string' && UNTRUSTED.has(c.code)) ?? e;
      const broker = where ?? causes.map((c) => c.broker).find((b): b is string => typeof b === 'string');
      return untrustedCertificate(broker, source, err);
    }
    if (clientCertRefusalCode(e)) {
      const broker = where ?? causes.map((c) => c.broker).find((b): b is string => typeof b === 'string');
      return refusedClientCertificate(broker, hadCertificate ?? true, e, err);
    }
  }
  return undefined;
}
