/**
 * Event-pattern alerting on the processor runtime: rule files (YAML, CEL match expressions) loaded and checked with
 * an ONEX code, file, line and field per mistake. docs/alerting.md describes the rule format and the CLI.
 */
export { checkRules, formatProblem, loadRuleFile, loadRules, parseDuration, problemsError, readRuleFile, renderTemplate, RULE_KINDS } from './rules.js';
export type { AbsenceRule, AlertRule, DeprecatedSchemaRule, Predicate, RatioRule, RuleKind, RuleProblem, RuleSet, SequenceRule, ThresholdRule } from './rules.js';
export { createAlertEngine } from './engine.js';
export type { AlertEngineOptions, AlertState, AlertTransition } from './engine.js';
export { compareTransitions, formatTransition, parseEventLines, replayRules, transitionLine } from './replay.js';
export type { TransitionLine } from './replay.js';
export { ALERTS_TOPIC, AlertGauge, alertEvent, alertmanagerAlert, alertRecords, postAlert } from './actions.js';
export type { WebhookOptions } from './actions.js';
export { createAlertProcessor, ruleFlagKey } from './run.js';
export type { AlertProcessorOptions } from './run.js';
