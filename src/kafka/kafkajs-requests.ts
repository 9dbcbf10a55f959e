import { createRequire } from 'node:module';

/**
 * The one point where this folder's one-pass codecs (record-batch.ts for Produce, fetch-decoder.ts for Fetch) plug
 * into kafkajs: each kafkajs request module builds a request as `protocol({ version })(args)`, and a hook wraps what
 * that returns for the versions it speaks. Process-wide and idempotent per request; false (and nothing changed) when
 * the installed kafkajs does not have the module layout this was written against, so kafkajs does all the work.
 */

const require = createRequire(import.meta.url);

type Protocol<Args, Built> = { versions: string[]; protocol(v: { version: number }): (args: Args) => Built };

const hooked = new Map<string, boolean>();

export function hookKafkajsRequest<Args, Built>(
  request: 'produce' | 'fetch',
  speaks: (version: number) => boolean,
  hook: (built: Built, args: Args) => Built,
): boolean {
  const done = hooked.get(request);
  if (done !== undefined) return done;
  let module: Protocol<Args, Built>;
  try {
    module = require(`kafkajs/src/protocol/requests/${request}/index.js`) as Protocol<Args, Built>;
    if (typeof module.protocol !== 'function' || !Array.isArray(module.versions) || !module.versions.some((v) => speaks(Number(v)))) {
      throw new Error('unexpected layout');
    }
  } catch {
    hooked.set(request, false);
    return false;
  }
  const original = module.protocol.bind(module);
  module.protocol = ({ version }) => {
    const build = original({ version });
    return speaks(version) ? (args) => hook(build(args), args) : build;
  };
  hooked.set(request, true);
  return true;
}
