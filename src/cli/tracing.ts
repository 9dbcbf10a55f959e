import type { Command } from 'commander';
import { startOtlpTracing } from '../telemetry/internal.js';
import type { OtlpTracing } from '../telemetry/types.js';

/**
 * `--otlp-endpoint` for the commands that run pipelines: spans of the producer, the worker's handlers and the
 * processors go to an OTLP/HTTP receiver (a collector, Jaeger, ...). Without the flag the standard
 * OTEL_EXPORTER_OTLP_ENDPOINT decides; without either there is no SDK and tracing costs nothing. The SDK starts
 * before the command's action and main() flushes it however the command ends (flushOtlpTracing).
 */

let active: OtlpTracing | undefined;

export function addOtlpOption<C extends Command>(command: C, serviceName: string): C {
  command
    .option('--otlp-endpoint <url>', 'send OpenTelemetry traces to this OTLP/HTTP receiver, e.g. http://127.0.0.1:4318 (default: OTEL_EXPORTER_OTLP_ENDPOINT)')
    .hook('preAction', async (cmd) => {
      active = await startOtlpTracing({ endpoint: cmd.opts<{ otlpEndpoint?: string }>().otlpEndpoint, serviceName, env: process.env });
      if (active) process.stderr.write(`tracing to ${active.url}\n`);
    });
  return command;
}

/** Exports the spans still buffered and stops the SDK, if a command started one. Never throws. */
export async function flushOtlpTracing(): Promise<void> {
  const t = active;
  active = undefined;
  await t?.shutdown();
}
