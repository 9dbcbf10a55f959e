/**
 * Development tools, not part of the library: the local Kafka broker launcher (`onex kafka`, `onex dev`, the test
 * global setup, the benchmarks) and the synthetic event load (`onex produce`, `onex dev`, tests, benchmarks). The
 * package root does not export this module; the CLI, test/ and bench/ import it directly.
 */
export { DEFAULT_DATA_DIR, localBrokerStatus, startEphemeralBroker, startLocalBroker, stopLocalBroker } from './local-broker.js';
export { cacheDir, checkJava, kafkaVersionOf, resolveKafkaClasspath } from './kafka-install.js';
export { readBrokerState } from './kafka-node.js';
export { brokerAnswers, freePort, portIsFree } from './processes.js';
export type { EphemeralBroker, LocalBrokerInfo, LocalBrokerOptions, SaslSslInfo, StartResult, StatusResult, StopResult } from './types.js';
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
