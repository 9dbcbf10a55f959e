import { existsSync, readFileSync } from 'node:fs';

/**
 * The version of Go module `module` a Go binary was built from, read from the build info every Go binary embeds
 * (its `mod <module> vX.Y.Z` line), without needing Go; undefined when the file is missing or built from another
 * module. Lets a cached tool binary be kept only while it is the version a test pins.
 */
export function goModuleVersionOf(binary: string, module: string): string | undefined {
  if (!existsSync(binary)) return undefined;
  const bytes = readFileSync(binary);
  const needle = Buffer.from(`\nmod\t${module}\t`);
  const at = bytes.indexOf(needle);
  if (at < 0) return undefined;
  const start = at + needle.length;
  let end = start;
  while (end < bytes.length && end - start < 64 && bytes[end] !== 0x09 && bytes[end] !== 0x0a) end++;
  return bytes.subarray(start, end).toString('latin1');
}
