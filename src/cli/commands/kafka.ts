import { Command } from 'commander';
import { parsePort, parsePositiveInt } from '../args.js';
import { DEFAULT_DATA_DIR, localBrokerStatus, startLocalBroker, stopLocalBroker } from '../../dev/index.js';

const dataDirOption = ['--data-dir <dir>', 'where the broker keeps its state, pid and logs', process.env.ONEX_KAFKA_DATA_DIR ?? DEFAULT_DATA_DIR] as const;

/** `onex kafka start|stop|status`: the local Apache Kafka broker (KRaft, one node) on 127.0.0.1. */
export function registerKafkaCommands(program: Command): void {
  const kafka = program.command('kafka').description('a local Apache Kafka broker (KRaft) on 127.0.0.1');

  kafka
    .command('start')
    .description('start the broker; returns when it answers metadata requests and prints its bootstrap address')
    .option('--port <port>', 'client port (default: the last one of this data dir, else a free port)', parsePort)
    .option(...dataDirOption)
    .option('--heap-mb <mb>', 'maximum broker heap in MiB', parsePositiveInt, 1024)
    .option('--timeout <seconds>', 'how long one start attempt waits for readiness', parsePositiveInt, 90)
    .action(async (opts: { port?: number; dataDir: string; heapMb: number; timeout: number }) => {
      const { info, reused, startMs } = await startLocalBroker({
        dataDir: opts.dataDir,
        port: opts.port,
        heapMb: opts.heapMb,
        readyTimeoutMs: opts.timeout * 1000,
        onProgress: (line) => process.stderr.write(`${line}\n`),
      });
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
