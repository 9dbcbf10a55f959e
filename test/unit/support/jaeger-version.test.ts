import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jaegerVersionOf } from '../../support/jaeger.js';

describe('the Jaeger cache key', () => {
  const dir = mkdtempSync(join(tmpdir(), 'onex-jaeger-version-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is the jaeger module version in the binary\'s Go build info, not a dependency\'s', () => {
    const binary = join(dir, 'jaeger');
    const info = 'path\tgithub.com/jaegertracing/jaeger/cmd/jaeger\nmod\tgithub.com/jaegertracing/jaeger\tv1.76.0\th1:abc=\ndep\tgithub.com/jaegertracing/jaeger-idl\tv0.6.0\th1:x=\n';
    writeFileSync(binary, Buffer.concat([Buffer.alloc(4096, 0x7f), Buffer.from(info), Buffer.alloc(64)]));
    expect(jaegerVersionOf(binary)).toBe('v1.76.0');
  });

  it('is absent for a file without build info or no file at all, so the binary gets built', () => {
    writeFileSync(join(dir, 'other'), 'not a go binary');
    expect(jaegerVersionOf(join(dir, 'other'))).toBeUndefined();
    expect(jaegerVersionOf(join(dir, 'missing'))).toBeUndefined();
  });
});
