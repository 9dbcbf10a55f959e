import { ensureChromium } from '../test/support/browser.js';

// `npm run setup:browser`: finds (or installs once, from Debian's packages) the Chromium the page tests drive, so the
// first test run does not wait for apt. Prints the binary's path.
process.stdout.write(`${ensureChromium((line) => process.stderr.write(`${line}\n`))}\n`);
