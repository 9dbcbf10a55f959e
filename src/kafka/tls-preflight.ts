import { isIP } from 'node:net';
import { connect, type ConnectionOptions } from 'node:tls';
import type { Kafka } from 'kafkajs';
import type { OnexError } from '../errors/index.js';
import { flags as processFlags, type FlagSet } from '../flags/index.js';
import type { KafkaConfig } from './config.js';
import { clientCertRefusalCode, refusedClientCertificate, untrustedCertificate, untrustedTlsCode } from './transport-errors.js';

/**
 * Fail fast on a broker certificate this client does not trust. kafkajs treats a failed TLS handshake like any
 * connection error and retries it (8 times with backoff by default) before anyone hears of it, although no retry can
 * make an untrusted certificate trusted. So before a kafkajs client made by the pipeline connects over TLS, one
 * handshake per seed broker is made with the same TLS options kafkajs will use (same servername rule): when no seed
 * broker completes it and at least one refused it on certificate grounds (self-signed, unknown CA, expired, a name
 * the certificate does not list), connect fails at once with ONEX_EVENT_635 naming the broker and the TLS reason.
 * A seed broker that does not answer or answers otherwise leaves the decision to kafkajs, as before. The same check
 * sees a broker that requires a client certificate (mutual TLS) refuse this client's, or its absence: ONEX_EVENT_636.
 *
 * Brokers found later through metadata are not checked here (kafkajs's retries still apply to them); they share the
 * seed brokers' CA in any sane set-up. The check costs one TLS handshake per seed broker per connect.
 */

type Outcome = { ok: true } | { ok: false; refusal?: OnexError };

/**
 * An ApiVersions v0 request (api key 18, correlation id 1, null client id): the request kafkajs sends first on every
 * connection, answered before any SASL login. Its answer shows that the broker accepted the TLS session, which with
 * TLS 1.3 is decided after the client's handshake completes: a broker that requires a client certificate sends its
 * refusal as an alert only then.
 */
const API_VERSIONS = Buffer.from([0, 0, 0, 10, 0, 18, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);

/** kafkajs's own socket factory sets servername for host names, never for IP addresses; the check does the same. */
function handshake(host: string, port: number, ssl: ConnectionOptions, timeoutMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const broker = `${host}:${port}`;
    const finish = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(o);
    };
    const socket = connect({ host, port, ...(isIP(host) ? {} : { servername: host }), ...ssl }, () => socket.write(API_VERSIONS));
    socket.once('data', () => finish({ ok: true }));
    socket.on('error', (err) => {
      if (untrustedTlsCode(err)) finish({ ok: false, refusal: untrustedCertificate(broker, err, err) });
      else if (clientCertRefusalCode(err)) finish({ ok: false, refusal: refusedClientCertificate(broker, !!(ssl.cert || ssl.pfx), err, err) });
      else finish({ ok: false });
    });
    // Closed without an answer (not a broker, or one that drops the session for its own reasons): kafkajs decides.
    socket.on('close', () => finish({ ok: false }));
    const timer = setTimeout(() => finish({ ok: false }), timeoutMs);
  });
}

/**
 * Resolves when a seed broker accepts the TLS session (or the answer is kafkajs's to give); else ONEX_EVENT_635 (its
 * certificate is not trusted) or ONEX_EVENT_636 (it refused this client's certificate, or its absence).
 */
export async function checkBrokerCertificates(config: Pick<KafkaConfig, 'brokers' | 'ssl' | 'connectionTimeoutMs'>): Promise<void> {
  if (!config.ssl) return;
  const ssl: ConnectionOptions = config.ssl === true ? {} : stripUndefined(config.ssl);
  const outcomes = await Promise.all(
    config.brokers.map((b) => {
      const i = b.lastIndexOf(':');
      return handshake(b.slice(0, i), Number(b.slice(i + 1)), ssl, config.connectionTimeoutMs);
    }),
  );
  if (outcomes.some((o) => o.ok)) return;
  const refused = outcomes.find((o): o is { ok: false; refusal: OnexError } => !o.ok && !!o.refusal);
  if (refused) throw refused.refusal;
}

function stripUndefined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

type Connectable = { connect(): Promise<void> };

/**
 * The kafkajs client with the certificate check in front of every producer's, consumer's and admin's connect().
 * Without TLS, or with the flag onex.kafka.tls-preflight off, the client is returned as it is.
 */
export function withCertificateCheck(kafka: Kafka, config: KafkaConfig, flags: FlagSet = processFlags): Kafka {
  if (!config.ssl || !flags.isEnabled('onex.kafka.tls-preflight', true)) return kafka;
  const guard = <C extends Connectable>(client: C): C => {
    const connectOriginal = client.connect.bind(client);
    client.connect = async () => {
      await checkBrokerCertificates(config);
      return connectOriginal();
    };
    return client;
  };
  const producer = kafka.producer.bind(kafka);
  const consumer = kafka.consumer.bind(kafka);
  const admin = kafka.admin.bind(kafka);
  kafka.producer = (o) => guard(producer(o));
  kafka.consumer = (o) => guard(consumer(o));
  kafka.admin = (o) => guard(admin(o));
  return kafka;
}
