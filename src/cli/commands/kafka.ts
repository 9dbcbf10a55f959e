import { Command } from 'commander';
import { parsePort, parsePositiveInt } from '../args.js';
import { onexError } from '../../errors/index.js';
import {
  DEFAULT_DATA_DIR,
  localBrokerStatus,
  localClusterStatus,
  readClusterState,
  startLocalBroker,
  startLocalCluster,
  stopLocalBroker,
  stopLocalCluster,
  type SaslSslListenerOptions,
} from '../../dev/index.js';

const dataDirOption = ['--data-dir <dir>', 'where the broker keeps its state, pid and logs', process.env.ONEX_KAFKA_DATA_DIR ?? DEFAULT_DATA_DIR] as const;

/** --sasl-ssl options: the mechanism checked, the user from ONEX_KAFKA_SASL_USERNAME / _PASSWORD when both are set. */
function saslSslOption(port: number | undefined, mechanism: string): SaslSslListenerOptions {
  const m = mechanism.toUpperCase();
  if (m !== 'SCRAM-SHA-512' && m !== 'PLAIN') throw onexError('ONEX_CLI_300', `--sasl-mechanism ${mechanism} is not SCRAM-SHA-512 or PLAIN`);
  const user = process.env.ONEX_KAFKA_SASL_USERNAME;
  const password = process.env.ONEX_KAFKA_SASL_PASSWORD;
  return { ...(port !== undefined ? { port } : {}), mechanism: m, ...(user && password ? { users: { [user]: password } } : {}) };
}

/**
 * `onex kafka start|stop|status`: the local Apache Kafka broker (KRaft, one node) on 127.0.0.1, or with --nodes N a
 * cluster of N combined broker+controller nodes (src/dev/local-cluster.ts says why combined).
 */
export function registerKafkaCommands(program: Command): void {
  const kafka = program.command('kafka').description('a local Apache Kafka broker (KRaft) on 127.0.0.1');

  kafka
    .command('start')
    .description('start the broker; returns when it answers metadata requests and prints its bootstrap address')
    .option('--port <port>', 'client port (default: the last one of this data dir, else a free port)', parsePort)
    .option(...dataDirOption)
    .option('--heap-mb <mb>', 'maximum broker heap in MiB', parsePositiveInt, 1024)
    .option('--timeout <seconds>', 'how long one start attempt waits for readiness', parsePositiveInt, 90)
    .option('--sasl-ssl', 'also open a SASL_SSL listener on a free port (TLS certificates made for this data dir, in <data-dir>/tls)')
    .option('--sasl-ssl-port <port>', 'also open a SASL_SSL listener on this port (implies --sasl-ssl)', parsePort)
    .option('--mtls', 'also open an SSL listener that requires a client certificate (implies --sasl-ssl; client certificate and key made in <data-dir>/tls)')
    .option('--mtls-port <port>', 'the mutual-TLS listener on this port (implies --mtls)', parsePort)
    .option(
      '--sasl-mechanism <mechanism>',
      'SASL mechanism of that listener: SCRAM-SHA-512 or PLAIN. Its user is ONEX_KAFKA_SASL_USERNAME / ONEX_KAFKA_SASL_PASSWORD when set, else "onex" with a generated password; <data-dir>/tls/client.properties (mode 0600) holds the client settings',
      'SCRAM-SHA-512',
    )
    .option('--nodes <n>', 'nodes: 1 is one broker; 2 to 9 a KRaft cluster of combined broker+controller nodes (3 for replication 3, min ISR 2)', parsePositiveInt, 1)
    .action(async (opts: { port?: number; dataDir: string; heapMb: number; timeout: number; nodes: number; saslSsl?: boolean; saslSslPort?: number; saslMechanism: string; mtls?: boolean; mtlsPort?: number }) => {
      const mtls = opts.mtlsPort !== undefined ? { port: opts.mtlsPort } : opts.mtls ? true : undefined;
      const saslSsl = opts.saslSsl || opts.saslSslPort !== undefined || mtls ? { ...saslSslOption(opts.saslSslPort, opts.saslMechanism), ...(mtls ? { mtls } : {}) } : undefined;
      if (opts.nodes > 1) {
        if (saslSsl) throw onexError('ONEX_CLI_350', '--sasl-ssl is for one broker; a cluster has PLAINTEXT listeners only');
        if (opts.port !== undefined) throw onexError('ONEX_CLI_350', '--port is for one broker; a cluster picks a free port per node (they are printed)');
        if (opts.nodes > 9) throw onexError('ONEX_CLI_350', `--nodes ${opts.nodes} is more than 9; a local cluster has 2 to 9 nodes`);
        const { info, reused, startMs } = await startLocalCluster({
          dataDir: opts.dataDir,
          nodes: opts.nodes,
          heapMb: opts.heapMb === 1024 ? 512 : opts.heapMb,
          readyTimeoutMs: opts.timeout * 2000,
          onProgress: (line) => process.stderr.write(`${line}\n`),
        });
        process.stderr.write(
          reused
            ? `a ${info.nodes.length}-node cluster already runs on ${opts.dataDir}; reusing it\n`
            : `${info.nodes.length}-node Apache Kafka ${info.kafkaVersion} cluster ready in ${(startMs / 1000).toFixed(1)} s (logs in ${opts.dataDir}/node-*/server.log)\n`,
        );
        process.stdout.write(`${info.bootstrap}\n`);
        return;
      }
      const { info, reused, startMs } = await startLocalBroker({
        dataDir: opts.dataDir,
        port: opts.port,
        heapMb: opts.heapMb,
        readyTimeoutMs: opts.timeout * 1000,
        onProgress: (line) => process.stderr.write(`${line}\n`),
        ...(saslSsl ? { saslSsl } : {}),
      });
      if (saslSsl && !info.saslSsl) {
        process.stderr.write(`the broker already running on ${info.dataDir} has no SASL_SSL listener; stop it first to start one with --sasl-ssl\n`);
        process.exitCode = 2;
      }
      if (info.saslSsl) process.stderr.write(`SASL_SSL ${info.saslSsl.mechanism} at ${info.saslSsl.bootstrap}, CA ${info.saslSsl.caFile}, client settings ${info.saslSsl.clientProperties}\n`);
      process.stderr.write(
        reused
          ? `a broker already runs on ${info.dataDir} (pid ${info.pid}); reusing it\n`
          : `Apache Kafka ${info.kafkaVersion} ready in ${(startMs / 1000).toFixed(1)} s (pid ${info.pid}, logs ${info.logFile})\n`,
      );
      process.stdout.write(`${info.bootstrap}\n`);
    });

  kafka
    .command('stop')
    .description('stop the broker of the data dir (controlled shutdown, then kill after the timeout)')
    .option(...dataDirOption)
    .option('--timeout <seconds>', 'how long to wait for a clean shutdown', parsePositiveInt, 30)
    .action(async (opts: { dataDir: string; timeout: number }) => {
      if (readClusterState(opts.dataDir)) {
        const n = await stopLocalCluster(opts.dataDir, opts.timeout * 1000);
        process.stderr.write(n ? `stopped ${n} node(s) of the cluster\n` : `no cluster node runs on ${opts.dataDir}\n`);
        return;
      }
      const r = await stopLocalBroker(opts.dataDir, opts.timeout * 1000);
      if (!r.stopped) process.stderr.write(`no broker runs on ${opts.dataDir}\n`);
      else process.stderr.write(`stopped the broker (pid ${r.pid})${r.clean ? '' : ' after it ignored SIGTERM'}\n`);
    });

  kafka
    .command('status')
    .description('say whether the broker of the data dir runs and where (exit 0 running, 3 not running)')
    .option(...dataDirOption)
    .option('--json', 'print the state as JSON')
    .action(async (opts: { dataDir: string; json?: boolean }) => {
      const c = await localClusterStatus(opts.dataDir);
      if (c) {
        const running = c.nodes.filter((n) => n.running).length;
        if (opts.json) process.stdout.write(`${JSON.stringify({ running: running > 0, answering: c.answering, bootstrap: c.info!.bootstrap, nodes: c.nodes })}\n`);
        else {
          process.stdout.write(`cluster of ${c.nodes.length} nodes at ${c.info!.bootstrap}: ${running} running, ${c.answering ? 'answering' : 'not all answering'}\n`);
          for (const n of c.nodes) process.stdout.write(`  node ${n.nodeId} 127.0.0.1:${n.port} ${n.running ? `running (pid ${n.pid})` : 'down'}\n`);
        }
        if (running === 0) process.exitCode = 3;
        return;
      }
      const s = await localBrokerStatus(opts.dataDir);
      if (opts.json) process.stdout.write(`${JSON.stringify({ running: s.running, answering: s.answering, ...s.info })}\n`);
      else if (s.running && s.info) {
        process.stdout.write(
          `running at ${s.info.bootstrap} (pid ${s.info.pid}, Apache Kafka ${s.info.kafkaVersion}, ${s.answering ? 'answering' : 'not answering yet'}, data dir ${s.info.dataDir})\n`,
        );
      } else process.stdout.write(`not running (data dir ${opts.dataDir})\n`);
      if (!s.running) process.exitCode = 3;
    });
}
