import { renameSync, writeFileSync } from 'node:fs';

/** Writes a flags file the way an operator's tooling does: a new file renamed over the old one. */
export function writeFlags(file: string, content: Record<string, unknown>): void {
  writeFileSync(`${file}.tmp`, JSON.stringify(content));
  renameSync(`${file}.tmp`, file);
}
