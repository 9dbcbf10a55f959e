import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { onexError } from '../errors/index.js';
import { makePemCertificates } from './pem-certs.js';

/**
 * TLS material and SASL users for the local broker's SASL_SSL listener, made on this machine with the JDK's keytool
 * (the broker needs a JDK anyway; nothing is downloaded): a throwaway CA, a server certificate for 127.0.0.1 and
 * localhost signed by it (in a PKCS12 keystore the broker reads), and the CA as PEM for clients to trust.
 *
 * Secrets (the keystore password, generated user passwords) are written to files readable by the owner only and are
 * never printed; what the CLI prints is where they are.
 */

export interface BrokerTlsMaterial {
  dir: string;
  /** The CA certificate, PEM: what a client trusts (Kafka's ssl.truststore.location as PEM, kafkajs ssl.ca). */
  caFile: string;
  /** PKCS12 keystore with the server key and its chain. */
  keystoreFile: string;
  /** Password of the keystore (and of its key). */
  keystorePassword: string;
}

const secret = () => randomBytes(18).toString('base64url');

function keytool(args: string[], what: string): void {
  const bin = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'keytool') : 'keytool';
  // Each call is a short JVM: the client compiler only and the serial GC start it in about half the time.
  const r = spawnSync(bin, ['-J-XX:TieredStopAtLevel=1', '-J-XX:+UseSerialGC', '-J-Xshare:auto', ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) {
    throw onexError('ONEX_RT_403', 'keytool was not found: install a JDK 17 or newer (it ships keytool) or set JAVA_HOME', { cause: r.error });
  }
  if (r.status !== 0) {
    // keytool's messages name files and aliases, never the passwords given as arguments.
    const detail = `${r.stderr}${r.stdout}`.trim().split('\n').slice(-1)[0] ?? '';
    throw onexError('ONEX_RT_442', `keytool could not ${what}: ${detail}`);
  }
}

function writeSecretFile(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600);
}

/**
 * Makes (or reuses, when complete) the CA, the server keystore and the CA PEM in `dir`. The certificates are valid
 * for `validityDays` (default 30): this is test and development material, not a PKI.
 */
export function ensureBrokerTls(dir: string, options: { validityDays?: number } = {}): BrokerTlsMaterial {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const caFile = join(dir, 'ca.pem');
  const keystoreFile = join(dir, 'broker.p12');
  const passFile = join(dir, 'keystore.password');
  if (existsSync(caFile) && existsSync(keystoreFile) && existsSync(passFile)) {
    return { dir, caFile, keystoreFile, keystorePassword: readFileSync(passFile, 'utf8').trim() };
  }
  const validity = String(options.validityDays ?? 30);
  const caStore = join(dir, 'ca.p12');
  const csr = join(dir, 'broker.csr');
  const signed = join(dir, 'broker.pem');
  for (const f of [caStore, keystoreFile, csr, signed, caFile]) rmSync(f, { force: true });
  const pass = secret();
  writeSecretFile(passFile, `${pass}\n`);
  const store = (file: string) => ['-keystore', file, '-storetype', 'PKCS12', '-storepass', pass, '-keypass', pass];
  const san = 'SAN=ip:127.0.0.1,dns:localhost';
  keytool(['-genkeypair', '-alias', 'ca', '-keyalg', 'EC', '-groupname', 'secp256r1', '-dname', 'CN=onex local test CA', '-ext', 'bc:c', '-validity', validity, ...store(caStore)], 'make the CA');
  keytool(['-exportcert', '-rfc', '-alias', 'ca', '-file', caFile, ...store(caStore)], 'export the CA certificate');
  keytool(['-genkeypair', '-alias', 'broker', '-keyalg', 'EC', '-groupname', 'secp256r1', '-dname', 'CN=127.0.0.1', '-ext', san, '-validity', validity, ...store(keystoreFile)], 'make the broker key');
  keytool(['-certreq', '-alias', 'broker', '-file', csr, ...store(keystoreFile)], 'make the broker certificate request');
  keytool(
    ['-gencert', '-alias', 'ca', '-infile', csr, '-outfile', signed, '-rfc', '-ext', san, '-ext', 'EKU=serverAuth', '-validity', validity, ...store(caStore)],
    'sign the broker certificate',
  );
  // The certificate reply is the chain (broker certificate, then the CA), imported in one call.
  writeFileSync(signed, `${readFileSync(signed, 'utf8').trim()}\n${readFileSync(caFile, 'utf8').trim()}\n`);
  keytool(['-importcert', '-noprompt', '-trustcacerts', '-alias', 'broker', '-file', signed, ...store(keystoreFile)], 'import the signed broker certificate');
  chmodSync(keystoreFile, 0o600);
  chmodSync(caStore, 0o600);
  return { dir, caFile, keystoreFile, keystorePassword: pass };
}

export type SaslMechanism = 'SCRAM-SHA-512' | 'PLAIN';

/** What the SASL_SSL listener is given: its port, mechanism and users (name -> password). */
export interface SaslSslListenerOptions {
  /** Default: a free port. */
  port?: number;
  /** Default SCRAM-SHA-512. */
  mechanism?: SaslMechanism;
  /** Users and passwords. Default: one user `onex` with a generated password (written to client.properties). */
  users?: Record<string, string>;
  /**
   * Also an SSL listener that requires a client certificate (Kafka's ssl.client.auth=required), on a free port or
   * the one given: mutual TLS, the principal is the certificate's subject. A client CA and one client certificate
   * signed by it are made for the run (node:crypto, src/dev/pem-certs.ts) in the tls directory.
   */
  mtls?: boolean | { port?: number };
}

/** The mutual-TLS listener's address and the client material made for it (PEM; the key file is owner-only). */
export interface MtlsListenerInfo {
  port: number;
  bootstrap: string;
  /** The CA the listener trusts for client certificates. */
  clientCaFile: string;
  /** A client certificate signed by it (subject CN=onex-client) and its private key. */
  certFile: string;
  keyFile: string;
}

/** Makes (or reuses) the client CA, client certificate and key for the mutual-TLS listener in `dir`. */
export function ensureClientCertificate(dir: string): Omit<MtlsListenerInfo, 'port' | 'bootstrap'> {
  const clientCaFile = join(dir, 'client-ca.pem');
  const certFile = join(dir, 'client.pem');
  const keyFile = join(dir, 'client.key');
  if (!(existsSync(clientCaFile) && existsSync(certFile) && existsSync(keyFile))) {
    const made = makePemCertificates({ hosts: ['onex-client'], commonName: 'onex-client', usage: 'client', days: 30 });
    writeFileSync(clientCaFile, made.ca);
    writeFileSync(certFile, made.cert);
    writeSecretFile(keyFile, made.key);
  }
  return { clientCaFile, certFile, keyFile };
}

/** server.properties entries for a SASL_SSL listener beside the PLAINTEXT and CONTROLLER ones. */
export function saslSslProperties(
  plainPort: number,
  controllerPort: number,
  saslPort: number,
  tls: BrokerTlsMaterial,
  mechanism: SaslMechanism,
  users: Record<string, string>,
  mtls?: { port: number; clientCaFile: string },
): Record<string, string> {
  const props: Record<string, string> = {
    listeners: `PLAINTEXT://127.0.0.1:${plainPort},CONTROLLER://127.0.0.1:${controllerPort},SASL_SSL://127.0.0.1:${saslPort}`,
    'advertised.listeners': `PLAINTEXT://127.0.0.1:${plainPort},SASL_SSL://127.0.0.1:${saslPort}`,
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL',
    'sasl.enabled.mechanisms': mechanism,
    'listener.name.sasl_ssl.ssl.keystore.type': 'PKCS12',
    'listener.name.sasl_ssl.ssl.keystore.location': tls.keystoreFile,
    'listener.name.sasl_ssl.ssl.keystore.password': tls.keystorePassword,
    'listener.name.sasl_ssl.ssl.key.password': tls.keystorePassword,
  };
  if (mtls) {
    // An SSL listener named MTLS: the same server certificate, and client certificates required, checked against the
    // client CA (a PEM truststore, which Kafka reads since 2.7).
    props.listeners += `,MTLS://127.0.0.1:${mtls.port}`;
    props['advertised.listeners'] += `,MTLS://127.0.0.1:${mtls.port}`;
    props['listener.security.protocol.map'] += ',MTLS:SSL';
    Object.assign(props, {
      'listener.name.mtls.ssl.client.auth': 'required',
      'listener.name.mtls.ssl.keystore.type': 'PKCS12',
      'listener.name.mtls.ssl.keystore.location': tls.keystoreFile,
      'listener.name.mtls.ssl.keystore.password': tls.keystorePassword,
      'listener.name.mtls.ssl.key.password': tls.keystorePassword,
      'listener.name.mtls.ssl.truststore.type': 'PEM',
      'listener.name.mtls.ssl.truststore.location': mtls.clientCaFile,
    });
  }
  if (mechanism === 'PLAIN') {
    // PLAIN users live in the listener's JAAS entry (user_<name>="<password>").
    const entries = Object.entries(users)
      .map(([name, password]) => `user_${name}=${JSON.stringify(password)}`)
      .join(' ');
    props['listener.name.sasl_ssl.plain.sasl.jaas.config'] = `org.apache.kafka.common.security.plain.PlainLoginModule required ${entries};`;
  } else {
    // SCRAM users are credentials in the cluster metadata, created through the admin API once the broker runs.
    props['listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config'] = 'org.apache.kafka.common.security.scram.ScramLoginModule required;';
  }
  return props;
}

/**
 * Creates or updates SCRAM-SHA-512 users through the broker's admin API (Kafka's own ConfigCommand, over the
 * PLAINTEXT listener on 127.0.0.1). Passwords go to the command in a 0600 file, never on its command line.
 */
export function createScramUsers(javaBin: string, classpath: string, bootstrap: string, users: Record<string, string>, workDir: string): void {
  if (Object.keys(users).length === 0) return;
  for (const [name, password] of Object.entries(users)) {
    if (!/^[\w.-]+$/.test(name)) throw onexError('ONEX_RT_443', `SASL user name ${JSON.stringify(name)} may only hold letters, digits, '.', '_' and '-'`);
    if (/[\],\s]/.test(password)) throw onexError('ONEX_RT_443', `the SASL password of user ${name} may not hold spaces, commas or ']' (Kafka's config syntax)`);
  }
  const file = join(workDir, `scram-users.${process.pid}.properties`);
  try {
    for (const [name, password] of Object.entries(users)) {
      // ConfigCommand reads --add-config-file as properties: one line per mechanism.
      writeSecretFile(file, `SCRAM-SHA-512=password=${password}\n`);
      const r = spawnSync(
        javaBin,
        ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-cp', classpath, 'kafka.admin.ConfigCommand', '--bootstrap-server', bootstrap, '--alter', '--entity-type', 'users', '--entity-name', name, '--add-config-file', file],
        { encoding: 'utf8', timeout: 120_000, env: { ...process.env, KAFKA_LOG4J_OPTS: '' } },
      );
      if (r.status !== 0) {
        const detail = `${r.stderr}${r.stdout}`.split(password).join('***').trim().split('\n').slice(-2).join(' | ');
        throw onexError('ONEX_RT_442', `creating SASL user ${name} through the broker's admin API failed: ${detail || r.error?.message || 'no output'}`);
      }
    }
  } finally {
    rmSync(file, { force: true });
  }
}

/**
 * A Kafka client configuration (Kafka's own property names) for the listener, for the Java tools and for anyone who
 * wants to see what to set: security.protocol, sasl.mechanism, the JAAS line, the CA to trust. Owner-readable only.
 */
export function writeClientProperties(file: string, bootstrap: string, mechanism: SaslMechanism, caFile: string, user: string, password: string): void {
  const module = mechanism === 'PLAIN' ? 'org.apache.kafka.common.security.plain.PlainLoginModule' : 'org.apache.kafka.common.security.scram.ScramLoginModule';
  writeSecretFile(
    file,
    [
      `bootstrap.servers=${bootstrap}`,
      'security.protocol=SASL_SSL',
      `sasl.mechanism=${mechanism}`,
      `sasl.jaas.config=${module} required username="${user}" password="${password}";`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${caFile}`,
      '',
    ].join('\n'),
  );
}

export const generateSecret = secret;
