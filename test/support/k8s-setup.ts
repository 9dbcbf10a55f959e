import { ensureKubernetesValidate, ensureKustomize } from './k8s.js';

/**
 * Global setup of the unit project: kustomize and kubernetes-validate are there before the manifest test runs
 * (built or installed when missing; see k8s.ts). A failure fails the run.
 */
export default async function setup(): Promise<void> {
  ensureKustomize((line) => process.stderr.write(`[k8s] ${line}\n`));
  await ensureKubernetesValidate();
}
