/**
 * Runs every benchmark in bench/ one after another on one broker (KAFKA_BROKERS, or a local broker started here),
 * so that baselines and our numbers are measured in the same run on the same machine. Each benchmark prints its own
 * markdown table; `npm run bench -- producer worker` runs only the named ones.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startEphemeralBroker } from '../src/dev/index.js';

const here = fileURLToPath(new URL('.', import.meta.url));
const wanted = process.argv.slice(2);
const scripts = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts')
  .filter((f) => wanted.length === 0 || wanted.some((w) => f.startsWith(w)))
  .sort();

const broker = process.env.KAFKA_BROKERS
  ? undefined
  : await startEphemeralBroker({ prefix: 'onex-bench-kafka-', onProgress: (l) => process.stderr.write(`${l}\n`) });
const brokers = process.env.KAFKA_BROKERS ?? broker!.info.bootstrap;
let failed = 0;
try {
  process.stdout.write(`# onex-events benchmarks\n\nnode ${process.version}, ${new Date().toISOString()}, broker ${brokers}\n\n`);
  for (const script of scripts) {
    process.stdout.write(`## ${script}\n\n`);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(here, script)], {
      stdio: 'inherit',
      env: { ...process.env, KAFKA_BROKERS: brokers },
    });
    if (r.status !== 0) {
      failed++;
      process.stdout.write(`\n${script} failed with exit code ${r.status}\n\n`);
    }
  }
} finally {
  await broker?.stop();
}
process.exit(failed ? 1 : 0);
