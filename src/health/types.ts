/**
 * The types other modules import from health: one check's result, a check, and a process's readiness.
 */

export interface CheckResult {
  ok: boolean;
  /** One short phrase: why not ready (or what was seen). */
  detail?: string;
}

export type HealthCheck = () => CheckResult | Promise<CheckResult>;

export interface Readiness {
  ready: boolean;
  draining: boolean;
  checks: Record<string, CheckResult>;
}
