// The process state machine with real children (sh scripts), in-process Supervisor, real signals.
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeProcess } from '../../src/supervisor/rpc/process-info.js';
import { FaultCode, ProcessState, SupervisorFault } from '../../src/supervisor/types.js';
import { pidFromFile } from '../support/processes.js';
import { waitFor } from '../support/wait.js';
import { group, processConfig, startSupervisor, supervisordConfig, tempDir, type Harness, type TempDir } from './fixtures.js';

let tmp: TempDir;
const running: Harness[] = [];

beforeAll(() => {
  tmp = tempDir('process');
});
afterEach(async () => {
  await Promise.all(running.splice(0).map((harness) => harness.stop()));
});
afterAll(() => tmp.remove());

function run(...groups: Parameters<typeof supervisordConfig>[1]): Harness {
  const harness = startSupervisor(supervisordConfig(tmp.dir, groups));
  running.push(harness);
  return harness;
}

function fault(error: unknown): string {
  expect(error).toBeInstanceOf(SupervisorFault);
  return FaultCode[(error as SupervisorFault).code] ?? '';
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/\) Z /.test(stat);
  } catch {
    return false;
  }
}

describe('STOPPED → STARTING → RUNNING', () => {
  it('is RUNNING after startsecs and logs supervisord\'s lines', async () => {
    const h = run(group(processConfig('sleeper', ['sleep', '100'], { startsecs: 1 })));
    const spawned = await h.waitForLine(/^spawned: 'sleeper' with pid \d+$/);
    expect(h.supervisor.processInfo('sleeper').state).toBe(ProcessState.STARTING);
    const success = await h.waitForLine(/^success: sleeper entered RUNNING state/);
    expect(success.message).toBe('success: sleeper entered RUNNING state, process has stayed up for > than 1 seconds (startsecs)');
    // The timer cannot fire before startsecs; the upper bound is only scheduling noise.
    expect(success.at - spawned.at).toBeGreaterThanOrEqual(990);
    const info = h.supervisor.processInfo('sleeper');
    expect(info.state).toBe(ProcessState.RUNNING);
    expect(info.pid).toBeGreaterThan(0);
    expect(describeProcess(info)).toMatch(/^pid \d+, uptime 0:00:0\d$/);
  });

  it('respects autostart=false and starts on request', async () => {
    const h = run(group(processConfig('manual', ['sleep', '100'], { autostart: false, startsecs: 0 })));
    const before = h.supervisor.processInfo('manual');
    expect(before.state).toBe(ProcessState.STOPPED);
    expect(describeProcess(before)).toBe('Not started');
    await h.supervisor.startProcess('manual', true);
    expect(h.supervisor.processInfo('manual').state).toBe(ProcessState.RUNNING);
    await expect(h.supervisor.startProcess('manual', false)).rejects.toThrow('ALREADY_STARTED: manual');
  });
});

describe('BACKOFF and FATAL', () => {
  it('retries after 1 s, 2 s, then gives up: startretries + 1 spawns', async () => {
    const h = run(group(processConfig('fail', ['sh', '-c', 'exit 1'], { startretries: 2 })));
    await h.waitForLine(/^gave up: fail entered FATAL state, too many start retries too quickly$/, 1, 15_000);
    const events = h.lines.filter((line) => /^(spawned|exited|gave up): '?fail/.test(line.message));
    expect(events.map((line) => line.message.replace(/pid \d+/, 'pid N'))).toEqual([
      "spawned: 'fail' with pid N",
      'exited: fail (exit status 1; not expected)',
      "spawned: 'fail' with pid N",
      'exited: fail (exit status 1; not expected)',
      "spawned: 'fail' with pid N",
      'exited: fail (exit status 1; not expected)',
      'gave up: fail entered FATAL state, too many start retries too quickly',
    ]);
    const at = events.map((line) => line.at);
    const firstWait = at[2]! - at[1]!;
    const secondWait = at[4]! - at[3]!;
    expect(firstWait).toBeGreaterThanOrEqual(990);
    expect(firstWait).toBeLessThan(1800);
    expect(secondWait).toBeGreaterThanOrEqual(1990);
    expect(secondWait).toBeLessThan(2800);
    const info = h.supervisor.processInfo('fail');
    expect(info.state).toBe(ProcessState.FATAL);
    expect(describeProcess(info)).toBe('Exited too quickly (process log may have details)');
  });

  it('reaps before promoting: a child that died while the loop was busy is an early exit, not RUNNING', async () => {
    const h = run(group(processConfig('racer', ['sh', '-c', 'sleep 0.5; exit 0'], { startsecs: 1, startretries: 0 })));
    const pid = h.supervisor.processInfo('racer').pid;
    const spawnedAt = Date.now();
    // Hold the event loop (deliberately, to create the race) until the child is a zombie and the
    // startsecs timer is overdue: timer and exit event are then both pending, in either order.
    while (!(Date.now() - spawnedAt > 1200 && /\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8')))) {
      if (Date.now() - spawnedAt > 10_000) throw new Error('child did not exit');
    }
    await h.waitForLine(/^exited: racer/);
    expect(h.messages()).toContain('exited: racer (exit status 0; not expected)');
    expect(h.messages().some((m) => m.startsWith('success: racer'))).toBe(false);
    await h.waitForLine(/^gave up: racer/);
  });

  it('an exit before startsecs is BACKOFF even with exit status 0, and stop from BACKOFF is STOPPED', async () => {
    const h = run(group(processConfig('short', ['sh', '-c', 'exit 0'], { startsecs: 2, startretries: 5 })));
    await h.waitForLine(/^exited: short \(exit status 0; not expected\)$/);
    expect(h.supervisor.processInfo('short').state).toBe(ProcessState.BACKOFF);
    await h.supervisor.stopProcess('short', true);
    expect(h.supervisor.processInfo('short').state).toBe(ProcessState.STOPPED);
    expect(h.messages().filter((m) => m.startsWith("spawned: 'short'"))).toHaveLength(1);
  });

  it('a missing command is a spawn error: BACKOFF with spawnerr, then FATAL; start says NO_FILE', async () => {
    const h = run(group(processConfig('nofile', ['/nonexistent/bin'], { startretries: 0 })));
    await h.waitForLine(/^spawnerr: can't find command '\/nonexistent\/bin'$/);
    await h.waitForLine(/^gave up: nofile entered FATAL state/);
    const info = h.supervisor.processInfo('nofile');
    expect(info.state).toBe(ProcessState.FATAL);
    expect(describeProcess(info)).toBe("can't find command '/nonexistent/bin'");
    expect(fault(await h.supervisor.startProcess('nofile', true).catch((e: unknown) => e))).toBe('NO_FILE');
  });

  it('start with wait on a program that dies early rejects with SPAWN_ERROR', async () => {
    const h = run(group(processConfig('early', ['sh', '-c', 'exit 2'], { autostart: false, startretries: 0 })));
    expect(fault(await h.supervisor.startProcess('early', true).catch((e: unknown) => e))).toBe('SPAWN_ERROR');
  });

  it('a command that is a directory or not executable is NOT_EXECUTABLE', async () => {
    const plain = tmp.file('plain.txt');
    await import('node:fs/promises').then((fs) => fs.writeFile(plain, 'x'));
    const h = run(
      group(processConfig('dir', [tmp.dir], { autostart: false })),
      group(processConfig('noexec', [plain], { autostart: false })),
    );
    const dirFault = await h.supervisor.startProcess('dir', false).catch((e: unknown) => e);
    expect(fault(dirFault)).toBe('NOT_EXECUTABLE');
    expect((dirFault as Error).message).toBe(`NOT_EXECUTABLE: command at '${tmp.dir}' is a directory`);
    const noexecFault = await h.supervisor.startProcess('noexec', false).catch((e: unknown) => e);
    expect((noexecFault as Error).message).toBe(`NOT_EXECUTABLE: command at '${plain}' is not executable`);
  });
});

describe('RUNNING → EXITED and autorestart', () => {
  it('unexpected (default): exit 0 is expected and stays EXITED', async () => {
    const h = run(group(processConfig('exit0', ['sh', '-c', 'sleep 0.3; exit 0'], { startsecs: 0 })));
    const exited = await h.waitForLine(/^exited: exit0/);
    expect(exited).toMatchObject({ level: 'INFO', message: 'exited: exit0 (exit status 0; expected)' });
    expect(h.supervisor.processInfo('exit0').state).toBe(ProcessState.EXITED);
    expect(h.messages().filter((m) => m.startsWith("spawned: 'exit0'"))).toHaveLength(1);
  });

  it('unexpected (default): exit 3 restarts at once', async () => {
    const h = run(group(processConfig('exit3', ['sh', '-c', 'sleep 0.3; exit 3'], { startsecs: 0 })));
    const exited = await h.waitForLine(/^exited: exit3/);
    expect(exited).toMatchObject({ level: 'WARN', message: 'exited: exit3 (exit status 3; not expected)' });
    const respawned = await h.waitForLine(/^spawned: 'exit3'/, 2);
    expect(respawned.at - exited.at).toBeLessThan(500);
  });

  it('true restarts an expected exit; false never restarts', async () => {
    const h = run(
      group(processConfig('always', ['sh', '-c', 'sleep 0.3; exit 0'], { startsecs: 0, autorestart: 'true' })),
      group(processConfig('never', ['sh', '-c', 'sleep 0.3; exit 5'], { startsecs: 0, autorestart: 'false' })),
    );
    await h.waitForLine(/^spawned: 'always'/, 2);
    const never = await h.waitForLine(/^exited: never/);
    expect(never.message).toBe('exited: never (exit status 5; not expected)');
    await h.waitForLine(/^spawned: 'always'/, 3);
    expect(h.messages().filter((m) => m.startsWith("spawned: 'never'"))).toHaveLength(1);
    expect(h.supervisor.processInfo('never')).toMatchObject({ state: ProcessState.EXITED, exitstatus: 5, spawnerr: 'Bad exit code 5' });
  });

  it('a death by signal is unexpected: terminated by SIGKILL', async () => {
    const h = run(group(processConfig('victim', ['sleep', '100'], { startsecs: 0, autorestart: 'false' })));
    await h.waitForLine(/^success: victim/);
    process.kill(h.supervisor.processInfo('victim').pid, 'SIGKILL');
    const exited = await h.waitForLine(/^exited: victim/);
    expect(exited).toMatchObject({ level: 'WARN', message: 'exited: victim (terminated by SIGKILL; not expected)' });
    expect(h.supervisor.processInfo('victim').exitstatus).toBe(-1);
  });
});

describe('stopping', () => {
  it('RUNNING → STOPPING → STOPPED with the stop signal', async () => {
    const h = run(group(processConfig('polite', ['sleep', '100'], { startsecs: 0 })));
    await h.waitForLine(/^success: polite/);
    await h.supervisor.stopProcess('polite', true);
    expect(h.supervisor.processInfo('polite').state).toBe(ProcessState.STOPPED);
    expect(await h.waitForLine(/^stopped: polite/)).toMatchObject({ level: 'WARN', message: 'stopped: polite (terminated by SIGTERM)' });
    expect(fault(await h.supervisor.stopProcess('polite', true).catch((e: unknown) => e))).toBe('NOT_RUNNING');
  });

  it('escalates to SIGKILL after stopwaitsecs', async () => {
    const script = tmp.script('stubborn.sh', "trap '' TERM\nwhile :; do sleep 0.1; done");
    const h = run(group(processConfig('stubborn', [script], { startsecs: 0, stopwaitsecs: 1, stopasgroup: true, killasgroup: true })));
    await h.waitForLine(/^success: stubborn/);
    const pid = h.supervisor.processInfo('stubborn').pid;
    const stopping = h.supervisor.stopProcess('stubborn', true);
    expect(h.supervisor.processInfo('stubborn').state).toBe(ProcessState.STOPPING);
    const waiting = await h.waitForLine(/^waiting for stubborn to stop$/);
    await stopping;
    const kill = await h.waitForLine(/^killing 'stubborn'/);
    expect(kill).toMatchObject({ level: 'WARN', message: `killing 'stubborn' (${pid}) with SIGKILL` });
    expect(kill.at - waiting.at).toBeGreaterThanOrEqual(950);
    expect(await h.waitForLine(/^stopped: stubborn/)).toMatchObject({ message: 'stopped: stubborn (terminated by SIGKILL)' });
    expect(h.supervisor.processInfo('stubborn').state).toBe(ProcessState.STOPPED);
  });

  it('stopasgroup reaches grandchildren; without it they are orphaned', async () => {
    const grouped = tmp.file('grouped.pid');
    const single = tmp.file('single.pid');
    const h = run(
      group(processConfig('grouped', ['sh', '-c', `sleep 1000 & echo $! > ${grouped}; wait`], { startsecs: 0, stopasgroup: true, killasgroup: true })),
      group(processConfig('single', ['sh', '-c', `sleep 1000 & echo $! > ${single}; wait`], { startsecs: 0 })),
    );
    const groupedChild = await waitFor('grouped grandchild', () => pidFromFile(grouped));
    const singleChild = await waitFor('single grandchild', () => pidFromFile(single));
    try {
      // The orphan is checked the moment its parent is STOPPED: a 1000 s sleep left to outlive a slow
      // wait on the other program can meet things outside this test (a CI run once saw it gone).
      await h.supervisor.stopProcess('single', true);
      expect(alive(singleChild), `grandchild ${singleChild} of a program without stopasgroup`).toBe(true);
      await h.supervisor.stopProcess('grouped', true);
      await waitFor('grandchild of a stopasgroup program to die', () => !alive(groupedChild));
    } finally {
      if (alive(singleChild)) process.kill(singleChild, 'SIGKILL');
    }
  });

  it('stop during STARTING is STOPPING → STOPPED, and a waiting start sees ABNORMAL_TERMINATION', async () => {
    const h = run(group(processConfig('slow', ['sleep', '100'], { autostart: false, startsecs: 5 })));
    const started = h.supervisor.startProcess('slow', true).catch((e: unknown) => e);
    expect(h.supervisor.processInfo('slow').state).toBe(ProcessState.STARTING);
    await h.supervisor.stopProcess('slow', true);
    expect(fault(await started)).toBe('ABNORMAL_TERMINATION');
    expect(h.supervisor.processInfo('slow').state).toBe(ProcessState.STOPPED);
  });
  it('start while STOPPING answers ABNORMAL_TERMINATION at once (supervisord: spawn does nothing, the wait sees STOPPING)', async () => {
    // Ignores SIGTERM: it stays STOPPING until stopwaitsecs runs out and SIGKILL ends it.
    const h = run(group(processConfig('stubborn', ['sh', '-c', 'trap "" TERM; while :; do sleep 0.1; done'], { startsecs: 0, stopwaitsecs: 30 })));
    await h.waitForLine(/^success: stubborn/);
    const stopped = h.supervisor.stopProcess('stubborn', true);
    expect(h.supervisor.processInfo('stubborn').state).toBe(ProcessState.STOPPING);
    expect(fault(await h.supervisor.startProcess('stubborn', true).catch((e: unknown) => e))).toBe('ABNORMAL_TERMINATION');
    // Without waiting, supervisord's start returns true and leaves the stop to finish.
    await h.supervisor.startProcess('stubborn', false);
    expect(h.supervisor.processInfo('stubborn').state).toBe(ProcessState.STOPPING);
    h.supervisor.signalProcess('stubborn', 'KILL');
    await stopped;
    expect(h.supervisor.processInfo('stubborn').state).toBe(ProcessState.STOPPED);
  });
});

describe('order, shutdown and restart', () => {
  it('starts in ascending priority and stops in descending priority', async () => {
    const h = run(
      group(processConfig('b', ['sleep', '100'], { startsecs: 0, priority: 20 }), 20),
      group(processConfig('a', ['sleep', '100'], { startsecs: 0, priority: 10 }), 10),
      group(processConfig('c', ['sleep', '100'], { startsecs: 0, priority: 30 }), 30),
    );
    const spawned = h.messages().filter((m) => m.startsWith('spawned:'));
    expect(spawned.map((m) => /'(\w)'/.exec(m)?.[1])).toEqual(['a', 'b', 'c']);
    await h.waitForLine(/^success: c/);
    running.splice(running.indexOf(h), 1);
    await h.stop();
    expect(h.messages().filter((m) => m.startsWith('stopped:'))).toEqual([
      'stopped: c (terminated by SIGTERM)',
      'stopped: b (terminated by SIGTERM)',
      'stopped: a (terminated by SIGTERM)',
    ]);
    expect(h.messages()).toContain('waiting for a, b, c to die');
  });

  it('restart() stops everything and reports RESTARTING; BACKOFF processes give up', async () => {
    const h = run(
      group(processConfig('up', ['sleep', '100'], { startsecs: 0 })),
      group(processConfig('flappy', ['sh', '-c', 'exit 1'], { startretries: 10 })),
    );
    await h.waitForLine(/^exited: flappy/);
    const stopped = h.supervisor.whenStopped();
    h.supervisor.restart();
    await expect(h.supervisor.startProcess('up', false)).rejects.toThrow('SHUTDOWN_STATE');
    expect(await stopped).toBe(0);
    expect(h.supervisor.processInfo('flappy').state).toBe(ProcessState.FATAL);
    expect(h.supervisor.processInfo('up').state).toBe(ProcessState.STOPPED);
  });
});

describe('signals, stdin, faults', () => {
  it('signalProcess delivers a signal; a bad name is BAD_SIGNAL; BAD_NAME for unknown processes', async () => {
    const marker = tmp.file('hup.txt');
    const script = tmp.script('hup.sh', `trap 'echo got-hup > ${marker}' HUP\nwhile :; do sleep 0.1; done`);
    const h = run(group(processConfig('hup', [script], { startsecs: 0 })));
    await h.waitForLine(/^success: hup/);
    h.supervisor.signalProcess('hup', 'HUP');
    await waitFor('the HUP trap to run', () => existsSync(marker) && readFileSync(marker, 'utf8') === 'got-hup\n');
    expect(fault(catchSync(() => h.supervisor.signalProcess('hup', 'BOGUS')))).toBe('BAD_SIGNAL');
    expect(fault(catchSync(() => h.supervisor.processInfo('nosuch')))).toBe('BAD_NAME');
    expect(h.supervisor.processInfo('hup:hup').name).toBe('hup');
  });

  it('sendProcessStdin reaches the child; NOT_RUNNING when it is not running', async () => {
    const out = tmp.file('cat.log');
    const h = run(
      group(
        processConfig('cat', ['cat'], { startsecs: 0, stdout: { kind: 'file', path: out, maxBytes: 0, backups: 0, auto: false } }),
      ),
    );
    await h.waitForLine(/^success: cat/);
    h.supervisor.sendProcessStdin('cat', 'hello stdin\n');
    await waitFor('cat to echo', () => existsSync(out) && readFileSync(out, 'utf8') === 'hello stdin\n');
    await h.supervisor.stopProcess('cat', true);
    expect(fault(catchSync(() => h.supervisor.sendProcessStdin('cat', 'x')))).toBe('NOT_RUNNING');
  });
});

function catchSync(action: () => unknown): unknown {
  try {
    action();
  } catch (error) {
    return error;
  }
  return undefined;
}
