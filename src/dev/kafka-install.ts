import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onexError } from '../errors/index.js';

/**
 * What a local Kafka node needs before it can run: Java 17 or newer, and Apache Kafka's jars, resolved once per
 * machine by Maven from deploy/local-kafka/pom.xml (the one place the Kafka version is pinned).
 */

const here = dirname(fileURLToPath(import.meta.url));
/** src/dev and dist/dev are both two levels below the package root. */
export const DEFAULT_POM = resolve(here, '../../deploy/local-kafka/pom.xml');

export function javaBinary(): string {
  return process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
}

/** Throws ONEX_RT_403 with what to install when java is missing or older than 17 (Kafka 4 needs 17). */
export function checkJava(): number {
  const r = spawnSync(javaBinary(), ['-version'], { encoding: 'utf8' });
  if (r.error) {
    throw onexError(
      'ONEX_RT_403',
      'java was not found: install Java 17 or newer (e.g. apt-get install openjdk-17-jre-headless) or set JAVA_HOME',
      { cause: r.error },
    );
  }
  const m = /version "(\d+)(?:\.(\d+))?/.exec(`${r.stderr}${r.stdout}`);
  const major = m ? (m[1] === '1' ? Number(m[2]) : Number(m[1])) : 0;
  if (major < 17) {
    throw onexError('ONEX_RT_403', `java ${major || 'of unknown version'} is too old: Apache Kafka 4 needs Java 17 or newer`);
  }
  return major;
}

/** Where the dev tools keep what they build or resolve once per machine (ONEX_CACHE_DIR, else the XDG cache). */
export function cacheDir(): string {
  return process.env.ONEX_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'onex-events');
}

/**
 * The broker's classpath. Maven resolves deploy/local-kafka/pom.xml once (downloading into ~/.m2 the first time);
 * the result is cached per pom content, so later starts run no Maven and need no network.
 */
export function resolveKafkaClasspath(pomPath = DEFAULT_POM, onProgress?: (line: string) => void): string {
  if (!existsSync(pomPath)) throw onexError('ONEX_RT_403', `the Kafka pom ${pomPath} is missing from this installation`);
  const pom = readFileSync(pomPath);
  const key = createHash('sha256').update(pom).digest('hex').slice(0, 16);
  const cacheFile = join(cacheDir(), `kafka-classpath-${key}.txt`);
  if (existsSync(cacheFile)) {
    const cp = readFileSync(cacheFile, 'utf8').trim();
    if (cp && cp.split(':').every((jar) => existsSync(jar))) return cp;
  }
  const which = spawnSync('mvn', ['--version'], { encoding: 'utf8' });
  if (which.error) {
    throw onexError(
      'ONEX_RT_403',
      'mvn was not found: install Maven (e.g. apt-get install maven) so the Kafka jars can be fetched from Maven Central once',
      { cause: which.error },
    );
  }
  onProgress?.('resolving Apache Kafka from Maven Central (first run only)...');
  mkdirSync(cacheDir(), { recursive: true });
  const tmp = `${cacheFile}.${process.pid}.tmp`;
  const r = spawnSync('mvn', ['-B', '-q', '-f', pomPath, 'dependency:build-classpath', `-Dmdep.outputFile=${tmp}`], {
    encoding: 'utf8',
    timeout: 15 * 60_000,
  });
  if (r.status !== 0 || !existsSync(tmp)) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
    throw onexError('ONEX_RT_405', `Maven could not resolve the Kafka jars: ${tail || r.error?.message || 'no output'}`);
  }
  const cp = readFileSync(tmp, 'utf8').trim();
  writeFileSync(cacheFile, cp);
  rmSync(tmp, { force: true });
  return cp;
}

export function kafkaVersionOf(classpath: string): string {
  return /kafka_2\.13-([\w.-]+)\.jar/.exec(classpath)?.[1] ?? 'unknown';
}
