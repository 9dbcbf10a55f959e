import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cacheDir } from '../../src/dev/index.js';
import { goModuleVersionOf } from './go-tool.js';
import { ensureVenvRequirement, VENV } from './python.js';

/**
 * The two tools that check deploy/k8s offline, both installed by the project itself when missing (no cluster and no
 * kubectl needed):
 *
 *   kustomize            renders the base and overlays; built once per machine from the Go module proxy
 *                        (`go install sigs.k8s.io/kustomize/kustomize/v5@KUSTOMIZE_VERSION`, ~1 min cold on two
 *                        cores) into <cache>/bin/kustomize (ONEX_CACHE_DIR, else ~/.cache/onex-events); a cached
 *                        binary of another version, read from its Go build info, is rebuilt.
 *   kubernetes-validate  PyPI's validator, which bundles the Kubernetes OpenAPI schemas; installed into the
 *                        repository's .venv (test/support/python.ts).
 *
 * `npm run setup:k8s` does both ahead of the tests; the unit project's global setup does it too.
 */

export const KUSTOMIZE_VERSION = 'v5.8.1';
const KUSTOMIZE_MODULE = 'sigs.k8s.io/kustomize/kustomize/v5';
export const KUBERNETES_VALIDATE = 'kubernetes-validate==1.35.0';
/** The Kubernetes version the manifests are validated against (kubernetes-validate's schemas of that release). */
export const KUBERNETES_VERSION = '1.35.0';

export function kustomizePath(): string {
  return join(cacheDir(), 'bin', 'kustomize');
}

export function ensureKustomize(say: (line: string) => void = () => undefined): string {
  const binary = kustomizePath();
  const found = goModuleVersionOf(binary, KUSTOMIZE_MODULE);
  if (found === KUSTOMIZE_VERSION) return binary;
  say(found ? `cached kustomize is ${found}, building ${KUSTOMIZE_VERSION}` : `no cached kustomize, building ${KUSTOMIZE_VERSION} (cold: ~1 min)`);
  const go = spawnSync('go', ['version'], { encoding: 'utf8' });
  if (go.status !== 0) throw new Error(`building kustomize ${KUSTOMIZE_VERSION} needs the Go toolchain (go 1.22 or newer on PATH), which was not found`);
  mkdirSync(join(cacheDir(), 'bin'), { recursive: true });
  // Installed into a directory of its own and renamed over the target, so a concurrent run never starts a
  // half-written binary.
  const gobin = mkdtempSync(join(cacheDir(), 'bin', '.kustomize-'));
  try {
    const r = spawnSync('go', ['install', `${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION}`], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GOBIN: gobin, GOFLAGS: '-mod=mod' },
      timeout: 900_000,
    });
    if (r.status !== 0) throw new Error(`go install ${KUSTOMIZE_MODULE}@${KUSTOMIZE_VERSION} failed (exit ${r.status})`);
    renameSync(join(gobin, 'kustomize'), binary);
  } finally {
    rmSync(gobin, { recursive: true, force: true });
  }
  const built = goModuleVersionOf(binary, KUSTOMIZE_MODULE);
  if (built !== KUSTOMIZE_VERSION) throw new Error(`built ${binary}, but its build info names kustomize ${built ?? 'no version'}, not ${KUSTOMIZE_VERSION}`);
  return binary;
}

export function kubernetesValidatePath(): string {
  return join(VENV, 'bin', 'kubernetes-validate');
}

export async function ensureKubernetesValidate(): Promise<string> {
  await ensureVenvRequirement(KUBERNETES_VALIDATE);
  return kubernetesValidatePath();
}

/** `kustomize build <dir>`: the rendered manifests as one multi-document YAML text; throws with kustomize's message. */
export function kustomizeBuild(dir: string): string {
  const r = spawnSync(kustomizePath(), ['build', dir], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`kustomize build ${dir} failed (exit ${r.status}): ${r.stderr}${r.error ?? ''}`);
  return r.stdout;
}

export interface ValidationResult {
  readonly code: number | null;
  /** kubernetes-validate's lines: `INFO <file> passed for resource <kind>/<name> ...`, `ERROR ...`, `WARN ...`. */
  readonly out: string;
}

/** kubernetes-validate --strict (unknown fields are errors) on a multi-document YAML text. */
export function kubernetesValidate(yamlText: string): ValidationResult {
  const dir = mkdtempSync(join(tmpdir(), 'onex-k8s-validate-'));
  try {
    const file = join(dir, 'manifests.yaml');
    writeFileSync(file, yamlText);
    const r = spawnSync(kubernetesValidatePath(), ['--strict', '-k', KUBERNETES_VERSION, file], { encoding: 'utf8', timeout: 60_000 });
    if (r.error) throw r.error;
    return { code: r.status, out: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
