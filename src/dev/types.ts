import type { MtlsListenerInfo, SaslMechanism, SaslSslListenerOptions } from './broker-tls.js';

/** What the development tools' callers (the CLI, test/, bench/) and their sibling files use of the local broker. */

export interface LocalBrokerOptions {
  /** Where the broker keeps its state. Default .onex/kafka. */
  dataDir?: string;
  /** Client port on 127.0.0.1; default: the port this data dir used last if free, else a free port. */
  port?: number;
  controllerPort?: number;
  /** Maximum broker heap. Default 1024 MiB. */
  heapMb?: number;
  /** How long one start attempt waits for the broker to answer metadata requests. Default 90 s. */
  readyTimeoutMs?: number;
  /** Start attempts (a slow or busy machine can lose a port race or time out). Default 3. */
  attempts?: number;
  /** When set, the broker is stopped as soon as this process exits. */
  ownerPid?: number;
  /** Extra or overriding server.properties entries. */
  properties?: Record<string, string>;
  /**
   * A SASL_SSL listener beside the PLAINTEXT one: certificates made for the run in <dataDir>/tls (src/dev/broker-tls.ts),
   * SCRAM-SHA-512 (default) or PLAIN users, and <dataDir>/tls/client.properties for the first user.
   */
  saslSsl?: SaslSslListenerOptions;
  pomPath?: string;
  /** Progress lines for a person (stderr in the CLI). */
  onProgress?: (line: string) => void;
}

export interface LocalBrokerInfo {
  pid: number;
  port: number;
  controllerPort: number;
  bootstrap: string;
  dataDir: string;
  logFile: string;
  kafkaVersion: string;
  startedAt: string;
  watchdogPid?: number;
  /** Set when the broker has a SASL_SSL listener. Holds no password (they are in clientProperties, mode 0600). */
  saslSsl?: SaslSslInfo;
}

export interface SaslSslInfo {
  port: number;
  bootstrap: string;
  mechanism: SaslMechanism;
  /** The CA that signed the broker certificate (PEM): what clients trust. */
  caFile: string;
  users: string[];
  /** Kafka client properties (security.protocol, sasl.mechanism, sasl.jaas.config, truststore) for the first user. */
  clientProperties: string;
  /** Set when asked for (saslSsl.mtls): the SSL listener that requires a client certificate, and the client's files. */
  mtls?: MtlsListenerInfo;
}

export interface StartResult {
  info: LocalBrokerInfo;
  /** True when a broker already running on this data dir was reused. */
  reused: boolean;
  /** Milliseconds from the call to a broker that answers (0 when reused). */
  startMs: number;
}

export interface StopResult {
  /** False when no broker was running on the data dir. */
  stopped: boolean;
  /** False when the broker ignored SIGTERM for timeoutMs and was killed. */
  clean: boolean;
  pid?: number;
}

export interface EphemeralBroker {
  info: LocalBrokerInfo;
  startMs: number;
  /** Stops the broker and removes its data dir. */
  stop(): Promise<void>;
}

export interface StatusResult {
  running: boolean;
  /** True when the broker answered a metadata request just now. */
  answering: boolean;
  info?: LocalBrokerInfo;
}
