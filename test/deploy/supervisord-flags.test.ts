// The V8 flags supervisord starts with: the same in every launcher (bin/supervisord.js's shebang, the
// image's docker/bin/supervisord, npm start), and quiet. Lite mode alone makes V8 print "Warning: disabling
// flag --expose_wasm due to conflicting flags" on stderr at every start, the first line of `docker logs`.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { launcher, tempDirForFile } from '../supervisor/fixtures.js';
import { waitFor } from '../support/wait.js';
import { readRepoFile, repoFile } from './support/files.js';

const tmp = tempDirForFile('flags');
const launch = launcher();

/** The flags between `node` and the script, from each launcher's text. */
function launcherFlags(): Record<string, string[]> {
  const shebang = /^#!\/usr\/bin\/env -S node((?: --\S+)*)\n/.exec(readRepoFile('bin/supervisord.js'));
  const image = /^exec node((?: --\S+)*) \/app\/dist\/supervisord\.js "\$@"$/m.exec(readRepoFile('docker/bin/supervisord'));
  const start = /spawn\(process\.execPath, \[((?:'--[^']+', )*)'dist\/supervisord\.js'/.exec(readRepoFile('scripts/start.mjs'));
  const words = (text: string | undefined) => (text ?? '').split(/[\s,']+/).filter((w) => w !== '');
  expect(shebang, 'bin/supervisord.js has its shebang').not.toBeNull();
  expect(image, 'docker/bin/supervisord has its exec line').not.toBeNull();
  expect(start, 'scripts/start.mjs spawns dist/supervisord.js').not.toBeNull();
  return { 'bin/supervisord.js': words(shebang?.[1]), 'docker/bin/supervisord': words(image?.[1]), 'scripts/start.mjs': words(start?.[1]) };
}

describe("supervisord's V8 flags", () => {
  it('are the same in every launcher, lite mode among them', () => {
    const flags = launcherFlags();
    expect(flags['bin/supervisord.js']).toContain('--lite-mode');
    expect(flags['docker/bin/supervisord']).toEqual(flags['bin/supervisord.js']);
    expect(flags['scripts/start.mjs']).toEqual(flags['bin/supervisord.js']);
  });

  it('bin/supervisord.js, run through its shebang, writes nothing to stderr from start to stop', async () => {
    const config = tmp.supervisordConf('quiet.conf', '[program:p]\ncommand=sleep 100\nstartsecs=0\n', 'nodaemon=true');
    const run = launch(repoFile('bin/supervisord.js'), ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'], cwd: tmp.dir });
    const mainLog = () => (existsSync(tmp.file('main.log')) ? readFileSync(tmp.file('main.log'), 'utf8') : '');
    await waitFor('p RUNNING', () => /success: p entered RUNNING state/.test(mainLog()));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    // Its log went to stdout (nodaemon), as supervisord's does; stderr has nothing of V8's.
    expect(run.stdout()).toMatch(/INFO spawned: 'p' with pid \d+/);
    expect(run.stderr()).toBe('');
  });
});
