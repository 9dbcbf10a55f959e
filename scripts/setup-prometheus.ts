import { ensurePrometheus } from '../test/support/prometheus.js';

// `npm run setup:prometheus`: installs (once per machine) the Prometheus server and promtool the rule, dashboard and
// real-Prometheus tests run; the test setup does the same when they are missing. Prints both paths and the version.
const tools = ensurePrometheus((line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${tools.prometheus}\n${tools.promtool}\n${tools.version}\n`);
