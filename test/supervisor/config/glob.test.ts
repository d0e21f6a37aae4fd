import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { globSync } from '../../../src/supervisor/config/glob.js';

describe('globSync (Python glob.glob)', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'config-glob-'));
    for (const name of ['a.conf', 'b.conf', 'c.ini', '.hidden.conf', 'sub/x.conf', 'sub/y.conf', 'other/z.conf', 'a[1].conf']) {
      mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      writeFileSync(path.join(dir, name), '');
    }
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const names = (pattern: string): string[] =>
    globSync(path.join(dir, pattern))
      .map((p) => path.relative(dir, p))
      .sort();

  it('matches * and ? within one segment, skipping hidden files', () => {
    expect(names('*.conf')).toEqual(['a.conf', 'a[1].conf', 'b.conf']);
    expect(names('?.c*')).toEqual(['a.conf', 'b.conf']);
    expect(names('?.*')).toEqual(['a.conf', 'b.conf', 'c.ini']);
    expect(names('.*.conf')).toEqual(['.hidden.conf']);
  });

  it('matches [..] and [!..] classes', () => {
    expect(names('[ab].conf')).toEqual(['a.conf', 'b.conf']);
    expect(names('[!a].*')).toEqual(['b.conf', 'c.ini']);
  });

  it('walks wildcard directories', () => {
    expect(names('*/*.conf')).toEqual(['other/z.conf', 'sub/x.conf', 'sub/y.conf']);
    expect(names('s*/x.conf')).toEqual(['sub/x.conf']);
  });

  it('returns a literal path only if it exists', () => {
    expect(names('c.ini')).toEqual(['c.ini']);
    expect(names('nothere.conf')).toEqual([]);
    expect(names('nothere/*.conf')).toEqual([]);
  });

  it('keeps the pattern text as given (no normalisation), like os.path.join', () => {
    expect(globSync(`${dir}/sub/../*.ini`)).toEqual([`${dir}/sub/../c.ini`]);
  });
});
