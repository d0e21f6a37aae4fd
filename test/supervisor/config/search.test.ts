import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultConfigSearchPaths, findDefaultConfigFile } from '../../../src/supervisor/config/index.js';
import { describeWithPeers, REAL_SUPERVISORD } from '../fixtures.js';

const PYTHON = '/usr/bin/python3';

// Program paths whose grandparent dir Python's posixpath treats in its own way: a bare name, the root,
// doubled slashes, a trailing slash, `..` (kept, not normalised).
const ARGV0S = ['/opt/app/bin/supervisord', 'supervisord', 'bin/supervisorctl', '/supervisord', '//x/y', 'a//b/supervisord', '/a/b/', '/a/../b/bin/supervisorctl'];

// supervisord 4.2.5's own list (ServerOptions, and ClientOptions for supervisorctl), for each argv0.
const SUPERVISOR_SEARCHPATHS = `
import json, sys
from supervisor.options import ClientOptions, ServerOptions
out = []
for argv0 in json.loads(sys.stdin.read()):
    sys.argv[0] = argv0
    out.append([ServerOptions().searchpaths, ClientOptions().searchpaths])
print(json.dumps(out))
`;

describe('default config search path', () => {
  let root: string;
  beforeAll(() => {
    root = mkdtempSync(path.join(os.tmpdir(), 'config-search-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('lists supervisord\'s candidates in order, relative to argv0\'s parent dir first', () => {
    expect(defaultConfigSearchPaths({ argv0: '/opt/app/bin/supervisord' })).toEqual([
      '/opt/app/etc/supervisord.conf',
      '/opt/app/supervisord.conf',
      'supervisord.conf',
      'etc/supervisord.conf',
      '/etc/supervisord.conf',
      '/etc/supervisor/supervisord.conf',
    ]);
    // A bare program name has no directory: Python's os.path.join('', 'etc', …).
    expect(defaultConfigSearchPaths({ argv0: 'supervisord' }).slice(0, 2)).toEqual(['etc/supervisord.conf', 'supervisord.conf']);
  });

  it('prefers the file next to the installation over the working directory', () => {
    const install = path.join(root, 'install');
    const cwd = path.join(root, 'work');
    mkdirSync(path.join(install, 'bin'), { recursive: true });
    mkdirSync(path.join(install, 'etc'), { recursive: true });
    mkdirSync(path.join(cwd, 'etc'), { recursive: true });
    const argv0 = path.join(install, 'bin', 'supervisord');
    writeFileSync(path.join(cwd, 'etc', 'supervisord.conf'), '');
    expect(findDefaultConfigFile({ argv0, cwd })).toBe(path.join(cwd, 'etc', 'supervisord.conf'));
    writeFileSync(path.join(cwd, 'supervisord.conf'), '');
    expect(findDefaultConfigFile({ argv0, cwd })).toBe(path.join(cwd, 'supervisord.conf'));
    writeFileSync(path.join(install, 'supervisord.conf'), '');
    expect(findDefaultConfigFile({ argv0, cwd })).toBe(path.join(install, 'supervisord.conf'));
    writeFileSync(path.join(install, 'etc', 'supervisord.conf'), '');
    expect(findDefaultConfigFile({ argv0, cwd })).toBe(path.join(install, 'etc', 'supervisord.conf'));
  });

  it('falls back to /etc (or null) when nothing local exists', () => {
    const empty = path.join(root, 'empty');
    mkdirSync(path.join(empty, 'bin'), { recursive: true });
    const found = findDefaultConfigFile({ argv0: path.join(empty, 'bin', 'supervisord'), cwd: empty });
    // The Debian package installs /etc/supervisor/supervisord.conf; without it the answer is null.
    const expected = ['/etc/supervisord.conf', '/etc/supervisor/supervisord.conf'].find((p) => existsSync(p)) ?? null;
    expect(found).toBe(expected);
  });
});

describeWithPeers([REAL_SUPERVISORD, PYTHON])('default config search path against supervisor 4.2.5', () => {
  it('is the list supervisord and supervisorctl compute from sys.argv[0], for every kind of program path', () => {
    const real = JSON.parse(execFileSync(PYTHON, ['-c', SUPERVISOR_SEARCHPATHS], { input: JSON.stringify(ARGV0S), encoding: 'utf8' })) as [
      string[],
      string[],
    ][];
    expect(real).toHaveLength(ARGV0S.length);
    ARGV0S.forEach((argv0, i) => {
      const [server, client] = real[i] ?? [[], []];
      expect(defaultConfigSearchPaths({ argv0 }), argv0).toEqual(server);
      expect(client, argv0).toEqual(server);
    });
  });
});
