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
export type { EphemeralBroker, LocalBrokerInfo, LocalBrokerOptions, StartResult, StatusResult, StopResult } from './local-broker.js';
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
