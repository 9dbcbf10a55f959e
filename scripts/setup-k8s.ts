import { ensureKubernetesValidate, ensureKustomize } from '../test/support/k8s.js';

// `npm run setup:k8s`: builds kustomize (once per machine and version) and installs kubernetes-validate into .venv,
// the tools that render and validate deploy/k8s. Prints their paths.
const kustomize = ensureKustomize((line) => process.stderr.write(`${line}\n`));
const validate = await ensureKubernetesValidate();
process.stdout.write(`${kustomize}\n${validate}\n`);
