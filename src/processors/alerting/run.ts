import type { Registry } from 'prom-client';
import client from 'prom-client';
import { flags as defaultFlags, type FlagSet } from '../../flags/index.js';
import { isOnexError } from '../../errors/index.js';
import { logger as moduleLogger } from '../../logging/index.js';
import { createProcessor } from '../processor.js';
import type { Processor, ProcessorOptions } from '../types.js';
import { AlertGauge, ALERTS_TOPIC, alertRecords, postAlert } from './actions.js';
import { createAlertEngine, type AlertTransition } from './engine.js';
import type { AlertRule } from './rules.js';

/**
 * The alert rules on the real runtime: a processor whose transitions go to `onex.alerts` as ALERT_TRIGGERED /
 * ALERT_RESOLVED events in its transactions (exactly once), to an Alertmanager v2 webhook (retried; at least once)
 * and to the onex_alerts gauge. Flags: `onex.alerts` off evaluates no rule, `onex.alerts.rule.<name>` off switches
 * one rule off, `onex.alerts.webhook` off posts nothing, `onex.alerts.prefilter` off runs every rule's CEL on every event.
 */
export interface AlertProcessorOptions extends Omit<ProcessorOptions, 'definition'> {
  rules: readonly AlertRule[];
  /** Where the ALERT events go (default onex.alerts). */
  alertsTopic?: string;
  /** Encodes an ALERT event for the topic (the codec's encode(event, '2.0.0'), after prepare); default JSON. */
  encode?: (event: Record<string, unknown>) => Buffer | string;
  webhookUrl?: string;
  flagSet?: FlagSet;
  onTransition?: (t: AlertTransition) => void;
}

export function ruleFlagKey(rule: string): string {
  return `onex.alerts.rule.${rule}`;
}

export function createAlertProcessor(o: AlertProcessorOptions): Processor {
  const { rules, alertsTopic, encode, webhookUrl, flagSet, onTransition, ...rest } = o;
  const f = flagSet ?? defaultFlags;
  const log = o.logger ?? moduleLogger('alerts');
  const gauge = new AlertGauge((o.metricsRegistry ?? client.register) as Registry);
  const definition = createAlertEngine(rules, {
    name: 'alerts',
    output: alertRecords(encode ?? ((e) => JSON.stringify(e)), alertsTopic ?? ALERTS_TOPIC),
    prefilter: f.isEnabled('onex.alerts.prefilter', true),
    enabled: (rule) => f.isEnabled('onex.alerts.enabled', true) && f.isEnabled(ruleFlagKey(rule), true),
    onTransition: (t) => {
      gauge.observe(t);
      onTransition?.(t);
      if (webhookUrl && t.state !== 'pending' && f.isEnabled('onex.alerts.webhook', true)) {
        postAlert(t, { url: webhookUrl }).catch((e: unknown) => log.warn({ err: e, code: isOnexError(e) ? e.code : undefined }, 'alert webhook failed'));
      }
    },
  });
  // The alerts topic is created at start like the changelog: nothing else may have (compose creates only the input).
  const out = alertsTopic ?? ALERTS_TOPIC;
  return createProcessor({ ...rest, outputTopics: [...new Set([out, ...(rest.outputTopics ?? [])])], definition });
}
