/**
 * Development tools, not part of the library: the local Kafka broker launcher (`onex kafka`, `onex dev`, the test
 * global setup, the benchmarks) and the synthetic event load (`onex produce`, `onex dev`, tests, benchmarks). The
 * package root does not export this module; the CLI, test/ and bench/ import it directly.
 */
export {
  DEFAULT_DATA_DIR,
  brokerAnswers,
  cacheDir,
  checkJava,
  freePort,
  kafkaVersionOf,
  localBrokerStatus,
  portIsFree,
  readBrokerState,
  resolveKafkaClasspath,
  startEphemeralBroker,
  startLocalBroker,
  stopLocalBroker,
} from './local-broker.js';
export type { EphemeralBroker, LocalBrokerInfo, LocalBrokerOptions, SaslSslInfo, StartResult, StatusResult, StopResult } from './local-broker.js';
export { ensureBrokerTls } from './broker-tls.js';
export type { BrokerTlsMaterial, SaslMechanism, SaslSslListenerOptions } from './broker-tls.js';
export {
  clusterAnswers,
  clusterNodePid,
  clusterProperties,
  localClusterStatus,
  readClusterState,
  restartClusterNode,
  startEphemeralCluster,
  startLocalCluster,
  stopLocalCluster,
} from './local-cluster.js';
export type { ClusterNode, ClusterStartResult, ClusterStatus, EphemeralCluster, LocalClusterInfo, LocalClusterOptions } from './local-cluster.js';
export { SyntheticEvents, seededRandom } from './synthetic.js';
export type { SyntheticEvent, SyntheticOptions } from './synthetic.js';
export { makePemCertificates } from './pem-certs.js';
export type { PemCertificates } from './pem-certs.js';
