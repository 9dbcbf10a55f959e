import { spawn } from 'node:child_process';
import { inject } from 'vitest';

export interface JavaRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs one of Kafka's own Java tools (org.apache.kafka.tools.ConsoleProducer, ConsoleConsumer, ProducerPerformance)
 * on the classpath the local broker runs from: Kafka's Java client on the other end of a cross-client test.
 */
export function runKafkaJavaTool(mainClass: string, args: string[], stdin?: string, timeoutMs = 120_000): Promise<JavaRun> {
  const classpath = inject('kafkaClasspath');
  if (!classpath) throw new Error("Kafka's jars were not resolved by the test setup (is Maven installed?)");
  return new Promise((resolve, reject) => {
    const child = spawn('java', ['-Xmx256m', '-Dlog4j2.level=warn', '-cp', classpath, mainClass, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${mainClass} did not finish within ${timeoutMs} ms; stderr: ${stderr.slice(-500)}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}
