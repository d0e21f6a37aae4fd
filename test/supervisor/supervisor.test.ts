// reread/update through SupervisorControl with real config files (config/'s loadConfig), the
// main log's clear, and processes() ordering.
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/supervisor/config/index.js';
import { ProcessState, SupervisorFault } from '../../src/supervisor/types.js';
import { startSupervisor, tempDirForFile, type Harness } from './fixtures.js';

const tmp = tempDirForFile('reload');
let harness: Harness | undefined;
afterEach(async () => {
  await harness?.stop();
  harness = undefined;
});

function writeConfig(programs: string): string {
  return tmp.supervisordConf('supervisord.conf', programs);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(SupervisorFault);
  return (error as SupervisorFault).message;
}

describe('reloadConfig / addProcessGroup / removeProcessGroup', () => {
  it('reports added, changed and removed groups and applies them one by one', async () => {
    const file = writeConfig(`
[program:keep]
command=sleep 100
startsecs=0

[program:change]
command=sleep 100
startsecs=0

[program:gone]
command=sleep 100
startsecs=0
`);
    const first = await loadConfig(file);
    harness = startSupervisor(first, { loadConfig: (path) => loadConfig(path) });
    const { supervisor } = harness;
    await harness.waitForLine(/^success: gone/);
    // Unchanged file: nothing to do, even though AUTO log names are random per load.
    expect(await supervisor.reloadConfig()).toEqual({ added: [], changed: [], removed: [] });

    writeConfig(`
[program:keep]
command=sleep 100
startsecs=0

[program:change]
command=sleep 200
startsecs=0

[program:fresh]
command=sleep 100
startsecs=0
`);
    expect(await supervisor.reloadConfig()).toEqual({ added: ['fresh'], changed: ['change'], removed: ['gone'] });

    expect(await codeOf(supervisor.removeProcessGroup('gone'))).toBe('STILL_RUNNING: gone');
    await supervisor.stopProcess('gone', true);
    await supervisor.removeProcessGroup('gone');
    expect(await codeOf(supervisor.removeProcessGroup('gone'))).toBe('BAD_NAME: gone');

    await supervisor.addProcessGroup('fresh');
    await harness.waitForLine(/^success: fresh/);
    expect(await codeOf(supervisor.addProcessGroup('fresh'))).toBe('ALREADY_ADDED: fresh');
    expect(await codeOf(supervisor.addProcessGroup('nosuch'))).toBe('BAD_NAME: nosuch');

    await supervisor.stopProcess('change', true);
    await supervisor.removeProcessGroup('change');
    await supervisor.addProcessGroup('change');
    await harness.waitForLine(/^success: change/, 2);
    expect(supervisor.processes().map((p) => [p.name, ProcessState[p.state]])).toEqual([
      ['change', 'RUNNING'],
      ['fresh', 'RUNNING'],
      ['keep', 'RUNNING'],
    ]);
    expect(supervisor.config().groups.map((g) => g.name)).toEqual(['change', 'fresh', 'keep']);
  });

  it('a broken file is CANT_REREAD with supervisord\'s message, and nothing changes', async () => {
    const file = writeConfig(`
[program:a]
command=sleep 100
startsecs=0
`);
    harness = startSupervisor(await loadConfig(file), { loadConfig: (path) => loadConfig(path) });
    await harness.waitForLine(/^success: a/);
    writeConfig(`
[program:a]
command=sleep 100
startsecs=abc
`);
    expect(await codeOf(harness.supervisor.reloadConfig())).toMatch(
      /^CANT_REREAD: invalid literal for int\(\) with base 10: 'abc' in section 'program:a' \(file: '.*supervisord\.conf'\)$/,
    );
    expect(harness.supervisor.processInfo('a').state).toBe(ProcessState.RUNNING);
  });
});

describe('main log control', () => {
  it('clearMainLog removes the file and goes on in a new one', async () => {
    const file = writeConfig(`
[program:a]
command=sleep 100
autostart=false
`);
    harness = startSupervisor(await loadConfig(file));
    const main = harness.supervisor.mainLogfile();
    expect(main).toBe(tmp.file('main.log'));
    harness.supervisor.log.info('before clear');
    await harness.supervisor.clearMainLog();
    harness.supervisor.log.info('after clear');
    expect(existsSync(main!)).toBe(true);
    const text = readFileSync(main!, 'utf8');
    expect(text).not.toContain('before clear');
    expect(text).toContain('after clear');
  });
});
