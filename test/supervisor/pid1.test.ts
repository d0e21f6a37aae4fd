// supervisord as a container's init: in a new PID namespace (`unshare --pid --fork --mount-proc`),
// with tini as PID 1 orphaned grandchildren are reaped and SIGTERM to PID 1 stops everything in
// order with exit 0. The control case shows why tini is needed: Node as PID 1 leaves zombies.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { distProgram } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { describeWithPeers, launcher, tempDirForFile, TINI, UNSHARE, type Launched } from './fixtures.js';

const tmp = tempDirForFile('pid1');
// Killing unshare (--kill-child) takes the whole namespace down with it.
const launchInNamespace = launcher();

interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
}

function readStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = text.lastIndexOf(')');
    const [state, ppid] = text.slice(close + 2).split(' ');
    return { pid, comm: text.slice(text.indexOf('(') + 1, close), state: state ?? '', ppid: Number(ppid) };
  } catch {
    return null;
  }
}

/** Host view of the processes whose parent is `ppid`. */
function childrenOf(ppid: number): ProcStat[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .map((name) => readStat(Number(name)))
    .filter((stat): stat is ProcStat => stat !== null && stat.ppid === ppid);
}

function writeConfig(): string {
  return tmp.supervisordConf(
    'pid1.conf',
    `[program:api]
command=sleep 1000
priority=10
startsecs=0

[program:orphanmaker]
; Three grandchildren whose parent exits at once: they are re-parented to PID 1 and exit after 1 s.
command=sh -c 'for i in 1 2 3; do (sleep 1 &); done; exec sleep 1000'
priority=20
startsecs=0
`,
    'nodaemon=true\nsilent=true',
  );
}

function launch(args: string[]): Launched {
  return launchInNamespace(UNSHARE, ['--pid', '--fork', '--mount-proc', '--kill-child', ...args]);
}

function mainLog(): string {
  return existsSync(tmp.file('main.log')) ? readFileSync(tmp.file('main.log'), 'utf8') : '';
}

describeWithPeers([TINI, UNSHARE], { root: true })('PID 1 in a PID namespace', () => {
  it('under tini: orphans are reaped, SIGTERM to PID 1 stops the programs in order, exit 0', async () => {
    writeFileSync(tmp.file('main.log'), '');
    const { child, exited } = launch([TINI, '--', process.execPath, distProgram('supervisord'), '-c', writeConfig()]);
    const init = await waitFor('PID 1 (tini) of the namespace', () => childrenOf(child.pid!)[0]);
    expect(readFileSync(`/proc/${init.pid}/status`, 'utf8')).toMatch(/NSpid:\s+\d+\s+1\n/);
    await waitFor('both programs RUNNING', () => /success: orphanmaker/.test(mainLog()) && /success: api/.test(mainLog()));
    const supervisordPid = childrenOf(init.pid).find((stat) => stat.comm === 'node')?.pid;
    expect(supervisordPid).toBeDefined();
    // The orphans now belong to PID 1 ...
    await waitFor('orphans re-parented to PID 1', () => childrenOf(init.pid).filter((stat) => stat.comm === 'sleep').length === 3);
    // ... and when they exit, tini reaps them: they vanish instead of staying as zombies (see the control case).
    await waitFor('orphans reaped', () => childrenOf(init.pid).filter((stat) => stat.pid !== supervisordPid).length === 0);
    expect(mainLog()).not.toContain('running as PID 1');

    process.kill(init.pid, 'SIGTERM');
    expect(await exited).toBe(0);
    const log = mainLog();
    expect(log).toContain('WARN received SIGTERM indicating exit request');
    expect(log.indexOf('stopped: orphanmaker')).toBeGreaterThan(-1);
    expect(log.indexOf('stopped: orphanmaker')).toBeLessThan(log.indexOf('stopped: api'));
  });

  it('control: Node itself as PID 1 cannot reap orphans (zombies pile up), which is why the image runs tini', async () => {
    writeFileSync(tmp.file('main.log'), '');
    const { child, exited } = launch([process.execPath, distProgram('supervisord'), '-c', writeConfig()]);
    const init = await waitFor('PID 1 (node) of the namespace', () => childrenOf(child.pid!)[0]);
    await waitFor('three zombies under PID 1', () => childrenOf(init.pid).filter((stat) => stat.state === 'Z').length === 3, {
      timeoutMs: 15_000,
    });
    expect(mainLog()).toContain('WARN supervisord is running as PID 1: orphaned processes will not be reaped');
    // With its own SIGTERM handler Node as PID 1 still shuts down cleanly.
    process.kill(init.pid, 'SIGTERM');
    expect(await exited).toBe(0);
  });
});
