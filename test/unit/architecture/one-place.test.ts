import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Decisions the code makes in one place: the environment is read by the configuration layer only, and a retry delay
 * is shaped by src/retry only. A new `process.env.X` in a module, or a loop with its own jitter formula, fails here.
 */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../../src');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? sources(join(dir, d.name)) : d.name.endsWith('.ts') && !d.name.endsWith('.d.ts') ? [join(dir, d.name)] : [],
  );
}

/** Code lines of a file (comment lines dropped), with their numbers. */
function codeLines(text: string): Array<[number, string]> {
  return text
    .split('\n')
    .map((line, i) => [i + 1, line] as [number, string])
    .filter(([, line]) => !/^\s*(\/\/|\*|\/\*\*)/.test(line));
}

/**
 * Where a file reads the environment other than as the default of an `env` parameter (`env = process.env`, the
 * fromEnv pattern: the caller can pass its own).
 */
function envReads(text: string): number[] {
  return codeLines(text)
    .filter(([, line]) => (line.match(/process\.env\b/g) ?? []).length > (line.match(/\benv\??(\s*:\s*[\w.<>|, ]+)?\s*=\s*process\.env\b/g) ?? []).length)
    .map(([n]) => n);
}

// The configuration layer: the CLI, the development tools, the Kafka settings and connection options read from the
// environment, and the process-wide log level.
const CONFIGURATION_LAYER = [/^cli\//, /^dev\//, /^kafka\/config\.ts$/, /^codec\/connection\.ts$/, /^logging\/index\.ts$/];

// Math.random() decides a retry delay in src/retry only (a loop may pass Math.random itself on, as a default for its
// tests to replace); the profiler's 1-in-N sampling is not a delay.
const RANDOM_ALLOWED = ['retry/index.ts', 'telemetry/profiler.ts'];

describe('one place for', () => {
  it('the env check tells a default parameter from a read', () => {
    expect(envReads('function f(env: NodeJS.ProcessEnv = process.env) {}')).toEqual([]);
    expect(envReads('static fromEnv(name = "X", options?: O, env: NodeJS.ProcessEnv = process.env): P {')).toEqual([]);
    expect(envReads('const level = process.env.ONEX_LOG_LEVEL;\n// process.env in a comment')).toEqual([1]);
    expect(envReads('x(process.env, { brokers })')).toEqual([1]);
  });

  it('reading the environment: the configuration layer only', () => {
    const files = sources(root);
    expect(files.length).toBeGreaterThan(50);
    const outside = files
      .map((f) => relative(root, f))
      .filter((f) => !CONFIGURATION_LAYER.some((re) => re.test(f)))
      .flatMap((f) => envReads(readFileSync(join(root, f), 'utf8')).map((n) => `${f}:${n}`));
    expect(outside, 'read the environment in src/kafka/config.ts or src/codec/connection.ts, or take an env parameter').toEqual([]);
  });

  it('a random retry delay: src/retry only', () => {
    const found = sources(root)
      .map((f) => relative(root, f))
      .filter((f) => !RANDOM_ALLOWED.includes(f))
      .flatMap((f) => codeLines(readFileSync(join(root, f), 'utf8')).filter(([, l]) => /Math\.random\(/.test(l)).map(([n]) => `${f}:${n}`));
    expect(found, 'a retry loop takes its delay from backoffDelay (src/retry) and its numbers from BACKOFFS').toEqual([]);
  });
});
