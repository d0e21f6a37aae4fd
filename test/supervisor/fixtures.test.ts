// The rule for suites that need real programs: run when present, skip on a developer machine
// without them, fail in CI naming what is missing.
import { describe, expect, it } from 'vitest';
import { peerVerdict } from './fixtures.js';

const present = new Set(['/usr/bin/supervisord']);
const exists = (file: string): boolean => present.has(file);

describe('peerVerdict', () => {
  it('runs when every program is there (and root when asked)', () => {
    expect(peerVerdict(['/usr/bin/supervisord'], { env: { CI: 'true' }, exists })).toEqual({ run: true });
    expect(peerVerdict(['/usr/bin/supervisord'], { root: true, uid: 0, env: {}, exists })).toEqual({ run: true });
  });

  it('skips on a developer machine without them', () => {
    expect(peerVerdict(['/usr/bin/tini'], { env: {}, exists })).toEqual({ run: false, skip: true });
    expect(peerVerdict(['/usr/bin/tini'], { env: { CI: 'false' }, exists })).toEqual({ run: false, skip: true });
  });

  it('fails in CI, naming every missing program and root', () => {
    const verdict = peerVerdict(['/usr/bin/supervisord', '/usr/bin/tini', '/usr/bin/unshare'], { root: true, uid: 1000, env: { CI: 'true' }, exists });
    expect(verdict).toMatchObject({ run: false, skip: false });
    expect(verdict.run === false && !verdict.skip ? verdict.message : '').toMatch(/missing: \/usr\/bin\/tini, \/usr\/bin\/unshare, root \(uid 0\)/);
  });
});
