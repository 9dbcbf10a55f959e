import { Command, Option } from 'commander';
import { onexError } from '../../errors/index.js';
import { SCHEMA_VERSIONS } from '../../event/index.js';
import { setLogLevel } from '../../telemetry/index.js';
import { DevSession, type DevOptions } from '../dev/session.js';
import { alertsLine, createDevView } from '../dev/view.js';
import { addOtlpOption } from '../tracing.js';
import { addBootstrapServerOption, parseCount, parseListenPort, parsePositiveInt, type BootstrapFlags } from '../args.js';

type DevFlags = Omit<DevOptions, 'say' | 'bootstrapServer'> & BootstrapFlags & { duration?: number };

/**
 * `onex dev`: the whole pipeline on embedded defaults, with a live view. Ctrl-C (or --duration) stops everything in
 * order and prints the summary as one JSON line on stdout; the exit code is 0 when every delivered event was handled
 * (consumed = produced - sampled out) and every poison record was dead-lettered.
 */
export function registerDevCommands(program: Command): void {
  // -b / KAFKA_BROKERS: an existing cluster instead of the local broker, as every other command that talks to Kafka.
  addBootstrapServerOption(addOtlpOption(program.command('dev'), 'onex-dev'))
    .description('run the whole pipeline on embedded defaults: local broker (or -b / KAFKA_BROKERS), registry, worker, demo load, live view')
    .option('--duration <seconds>', 'stop by itself after this long (default: run until Ctrl-C)', parsePositiveInt)
    .option('--rate <events-per-second>', 'demo load, all schema versions together', parsePositiveInt, 2_000)
    .option('--registry-port <port>', 'schema registry port (0: any free port)', parseListenPort, 8081)
    .option('--metrics-port <port>', '/metrics port (0: any free port)', parseListenPort, 9464)
    .addOption(new Option('--target-version <version>', 'the version the demo handlers receive').choices([...SCHEMA_VERSIONS]).default('2.0.0'))
    .option('--large-every <n>', 'one in n events carries a payload over 10 KB (LZ4 lane); 0 for none', parseCount, 50)
    .option('--profile-topic <topic>', 'profile the pipeline and emit PERFORMANCE_PROFILE events to this topic (see onex profile)')
    .option('--profile-window <ms>', 'profiling window', parsePositiveInt, 10_000)
    .option('--inspect-port <port>', 'index the demo topic and serve the inspect page (flows as waterfalls) on this port (0: any free port)', parseListenPort)
    .option('--no-alerts', 'run no alert rules on the demo topic (by default the shipped alerts/dev-rules.yaml runs)')
    .option('--alert-rules <file>', 'run these alert rules on the demo topic instead of the shipped ones')
    .option('--poison-every <n>', 'one raw poison record per n events, to show the dead-letter path; 0 for none', parseCount, 5_000)
    .action(async (flags: DevFlags) => {
      // The live frame owns a terminal: a log line between redraws would tear it, and the frame already counts what
      // the warnings say (dead letters, rejections), so a terminal gets errors only; a pipe gets warnings too.
      setLogLevel(process.env.ONEX_LOG_LEVEL ?? (process.stderr.isTTY ? 'error' : 'warn'));
      const view = createDevView(process.stderr);
      const say = (line: string) => process.stderr.write(`${line}\n`);
      const { bootstrapServer, brokers, kafka, ...rest } = flags;
      const session = new DevSession({ ...rest, say, bootstrapServer: bootstrapServer ?? brokers ?? kafka });

      let stopping: Promise<void> | undefined;
      let resolveStop!: () => void;
      const stopRequested = new Promise<void>((r) => (resolveStop = r));
      const onSignal = () => {
        if (stopping) {
          say('second interrupt: stopping now without draining');
          void session.close().finally(() => process.exit(130));
          return;
        }
        resolveStop();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      try {
        await session.start();
      } catch (err) {
        await session.close();
        throw err;
      }
      session.startLoad();
      say(flags.duration ? `running for ${flags.duration} s...` : 'running; Ctrl-C stops everything in order');

      const tick = setInterval(() => view.update(session.snapshot()), 500);
      const lagTick = setInterval(() => void session.refreshLag(), 2_000);
      const timer = flags.duration ? setTimeout(resolveStop, flags.duration * 1000) : undefined;
      await stopRequested;
      clearInterval(tick);
      clearInterval(lagTick);
      if (timer) clearTimeout(timer);
      view.update(session.snapshot());
      view.done();

      let summary;
      stopping = session.stop().then((s) => void (summary = s));
      await stopping;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      const s = summary!;
      say(
        `produced ${s.produced} (sampled out ${s.sampled_out}), consumed ${s.consumed}, dead-lettered ${s.dead_lettered} of ${s.poison_injected} poison records, rejected ${s.rejected}`,
      );
      if (s.alerts) say(`alerts (${s.alerts.topic}): ${alertsLine(s.alerts)}`);
      if (!s.balanced) {
        throw onexError(
          'ONEX_EVENT_600',
          `the run did not balance: consumed ${s.consumed} of ${s.produced - s.sampled_out} delivered events and dead-lettered ${s.dead_lettered} of ${s.poison_injected} poison records`,
        );
      }
      if (s.rejected > 0) {
        throw session.rejection ?? onexError('ONEX_EVENT_600', `${s.rejected} demo events were rejected by the producer`);
      }
    });
}
