import { describe, expect, it } from 'vitest';
import { readVersion, versionAtLeast } from '../../../src/event/index.js';

describe('versionAtLeast: semantic order, never text order', () => {
  it('orders by major, minor, patch as numbers', () => {
    expect(versionAtLeast('1.2.0', '1.1.0')).toBe(true);
    expect(versionAtLeast('1.1.0', '1.1.0')).toBe(true);
    expect(versionAtLeast('1.0.0', '1.1.0')).toBe(false);
    expect(versionAtLeast('2.0.0', '1.3.0')).toBe(true);
    // Text order puts "1.10.0" before "1.2.0"; semantic order does not.
    expect('1.10.0' >= '1.2.0').toBe(false);
    expect(versionAtLeast('1.10.0', '1.2.0')).toBe(true);
    expect(versionAtLeast('1.2.1', '1.2.0')).toBe(true);
  });
  it('refuses text that is not MAJOR.MINOR.PATCH', () => {
    expect(() => versionAtLeast('1.2', '1.1.0')).toThrow(/MAJOR.MINOR.PATCH/);
  });
});

describe('readVersion: the one rule for reading a stated version', () => {
  it('reads known versions exactly, a PATCH as its MINOR', () => {
    expect(readVersion('1.2.0')).toEqual({ version: '1.2.0', exact: true });
    expect(readVersion('1.2.7')).toEqual({ version: '1.2.0', exact: true });
  });
  it('reads a newer MINOR of a known MAJOR as that MAJOR\'s newest, not exact', () => {
    expect(readVersion('1.9.0')).toEqual({ version: '1.3.0', exact: false });
    expect(readVersion('2.4.1')).toEqual({ version: '2.0.0', exact: false });
  });
  it('says why a version cannot be read', () => {
    expect(readVersion('3.0.0')).toMatchObject({ unreadable: 'newer-major', newestMajor: 2 });
    expect(readVersion('0.9.0')).toMatchObject({ unreadable: 'unknown' });
    expect(readVersion('v1')).toMatchObject({ unreadable: 'not-semver' });
  });
});
