import { ensureJaegerBinary, JAEGER_VERSION } from '../test/support/jaeger.js';

// `npm run setup:jaeger`: builds (once per machine and version) the Jaeger binary the end-to-end tracing test
// starts, so the first test run does not spend minutes compiling it. Prints the binary's path.
const binary = ensureJaegerBinary(process.argv[2] ?? JAEGER_VERSION, (line) => process.stderr.write(`${line}\n`));
process.stdout.write(`${binary}\n`);
