// `status` in every process state, four ways: {real, our} supervisorctl × {real, our} supervisord
// on the same config. All four must print the same text and exit with the same code.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { normalize, describeWithRealPeers, runCtl, startDaemons, states, type Daemon, type Peer } from './harness.js';

const PROGRAMS = `
[program:run]
command=sh -c 'echo run-out; echo run-err >&2; exec sleep infinity'

[program:manual]
command=sleep infinity
autostart=false

[program:fatal]
command=sh -c 'exit 3'
startsecs=30
startretries=0

[program:exited]
command=sh -c 'sleep 0.3'
startsecs=0
autorestart=false

[program:starting]
command=sleep infinity
startsecs=3600

[program:backoff]
command=sh -c 'exit 1'
startsecs=30
startretries=1000

[program:stubborn]
command=sh -c "trap '' TERM; exec sleep infinity"
stopwaitsecs=3600

[group:grp]
programs=g1,g2

[program:g1]
command=sleep infinity

[program:g2]
command=sleep infinity
autostart=false
`;

const EXPECTED = {
  backoff: 'BACKOFF',
  exited: 'EXITED',
  fatal: 'FATAL',
  'grp:g1': 'RUNNING',
  'grp:g2': 'STOPPED',
  manual: 'STOPPED',
  run: 'RUNNING',
  starting: 'STARTING',
  stubborn: 'STOPPING',
};

describeWithRealPeers('supervisorctl status: real and ours, against real and our supervisord', () => {
  const daemons: Partial<Record<Peer, Daemon>> = {};

  beforeAll(async () => {
    const [real, ours] = await startDaemons(['real', 'ours'], () => ({ programs: PROGRAMS }));
    if (!real || !ours) throw new Error('daemons not started');
    daemons.real = real;
    daemons.ours = ours;
    for (const daemon of [real, ours]) {
      await waitFor(`stubborn RUNNING on ${daemon.kind}`, async () => (await states(daemon.client)).stubborn === 'RUNNING');
      // Without waiting: it ignores SIGTERM, so it stays STOPPING.
      await daemon.client.call('supervisor.stopProcess', ['stubborn', false]);
    }
  });

  afterAll(async () => {
    await Promise.all(Object.values(daemons).map((d) => d.stop()));
  });

  function all(): Daemon[] {
    const { real, ours } = daemons;
    if (!real || !ours) throw new Error('daemons not started');
    return [real, ours];
  }

  /** Each client against each daemon; [label, normalized "stdout + rc"]. */
  async function fourWay(args: string[]): Promise<Array<[string, string]>> {
    const results: Array<[string, string]> = [];
    for (const daemon of all()) {
      for (const client of ['real', 'ours'] as const) {
        const result = await runCtl(client, ['-c', daemon.conf, ...args]);
        results.push([`${client} ctl → ${daemon.kind} supervisord`, `${normalize(result.stdout + result.stderr, [daemon.dir])}\n[rc=${result.exitCode}]`]);
      }
    }
    return results;
  }

  function expectAllSame(results: Array<[string, string]>): string {
    const reference = results[0]?.[1] ?? '';
    for (const [label, text] of results) expect(text, label).toBe(reference);
    return reference;
  }

  it('every state looks the same from all four pairs (rc 3: some are stopped)', async () => {
    for (const daemon of all()) {
      await waitFor(`every program in its expected state on ${daemon.kind}`, async () => {
        const current = await states(daemon.client);
        return JSON.stringify(current) === JSON.stringify(EXPECTED) ? current : undefined;
      });
    }
    // BACKOFF flips to STARTING for a moment at each retry; retry the comparison until all four agree.
    const text = await waitFor('all four status listings to agree', async () => {
      const results = await fourWay(['status']);
      return results.every(([, t]) => t === results[0]?.[1]) && results[0]?.[1].includes('BACKOFF') ? expectAllSame(results) : undefined;
    });
    expect(text).toBe(
      [
        'backoff                          BACKOFF   Exited too quickly (process log may have details)',
        'exited                           EXITED    <DATE>',
        'fatal                            FATAL     Exited too quickly (process log may have details)',
        'grp:g1                           RUNNING   pid <PID>, uptime <UPTIME>',
        'grp:g2                           STOPPED   Not started',
        'manual                           STOPPED   Not started',
        'run                              RUNNING   pid <PID>, uptime <UPTIME>',
        'starting                         STARTING  ',
        'stubborn                         STOPPING  ',
        '',
        '[rc=3]',
      ].join('\n'),
    );
  });

  it.each([
    [['status', 'run'], 'run                              RUNNING   pid <PID>, uptime <UPTIME>\n\n[rc=0]'],
    [['status', 'nosuch'], 'nosuch: ERROR (no such process)\n\n[rc=4]'],
    [['status', 'nogrp:*'], 'nogrp: ERROR (no such group)\n\n[rc=4]'],
    [['status', 'nosuch', 'run'], 'nosuch: ERROR (no such process)\nrun                              RUNNING   pid <PID>, uptime <UPTIME>\n\n[rc=4]'],
    [['status', 'nosuch', 'manual'], 'nosuch: ERROR (no such process)\nmanual                           STOPPED   Not started\n\n[rc=3]'],
    [['status', 'grp:*'], 'grp:g1                           RUNNING   pid <PID>, uptime <UPTIME>\ngrp:g2                           STOPPED   Not started\n\n[rc=3]'],
    [['status', 'grp:'], 'grp:g1                           RUNNING   pid <PID>, uptime <UPTIME>\ngrp:g2                           STOPPED   Not started\n\n[rc=3]'],
    [['status', 'grp:g1', 'starting'], 'grp:g1                           RUNNING   pid <PID>, uptime <UPTIME>\nstarting                         STARTING  \n\n[rc=0]'],
  ])('%j', async (args, expected) => {
    expect(expectAllSame(await fourWay(args))).toBe(expected);
  });

  it.each([
    [['pid', 'nosuch'], 'No such process nosuch\n\n[rc=1]'],
    [['pid', 'manual'], '0\n\n[rc=7]'],
    [['pid', 'run'], '<NUMBER>\n\n[rc=0]'],
    [['tail', 'run'], 'run-out\n\n\n[rc=0]'],
    [['tail', 'run', 'stderr'], 'run-err\n\n\n[rc=0]'],
    [['tail', '-4', 'run'], 'out\n\n\n[rc=0]'],
    [['tail', 'nosuch'], 'nosuch: ERROR (no such process name)\n\n[rc=1]'],
    [['tail', '-x', 'run'], 'Error: bad argument -x\n\n[rc=1]'],
    [['tail', 'run', 'bogus'], "Error: bad channel 'bogus'\n\n[rc=1]"],
    [['signal', 'FOO', 'run'], 'run: ERROR (bad signal name)\n\n[rc=1]'],
    [['signal', 'HUP', 'manual'], 'manual: ERROR (not running)\n\n[rc=7]'],
    [['signal', 'HUP', 'nosuch'], 'nosuch: ERROR (no such process)\n\n[rc=1]'],
    [['start', 'run'], 'run: ERROR (already started)\n\n[rc=0]'],
    [['start', 'nosuch'], 'nosuch: ERROR (no such process)\n\n[rc=1]'],
    [['start', 'nogrp:*'], 'nogrp: ERROR (no such group)\n\n[rc=2]'],
    [['stop', 'manual'], 'manual: ERROR (not running)\n\n[rc=0]'],
    [['stop', 'nosuch'], 'nosuch: ERROR (no such process)\n\n[rc=1]'],
    [['stop', 'nogrp:*'], 'nogrp: ERROR (no such group)\n\n[rc=1]'],
    [['clear', 'nosuch'], 'nosuch: ERROR (no such process)\n\n[rc=1]'],
    [['version'], '4.2.5\n\n[rc=0]'],
    [['bogus'], '*** Unknown syntax: bogus\n\n[rc=1]'],
    [['help', 'tail'], undefined],
    [['help'], undefined],
    [['avail'], undefined],
    [['maintail', '-f', 'x'], undefined],
    [['restart'], undefined],
    [['shutdown', 'extra'], undefined],
    [['clear', 'grp:*'], 'grp:None: ERROR (no such process)\n\n[rc=1]'],
    [['remove', 'grp'], 'ERROR: process/group still running: grp\n\n[rc=1]'],
    [['add', 'run'], 'ERROR: process group already active\n\n[rc=0]'],
    [['pid', 'grp:*'], undefined],
    [['tail', '-f'], 'Error: tail requires process name\n\n[rc=1]'],
    [['fg'], undefined],
    [['fg', 'manual'], 'ERROR: process not running\n\n[rc=1]'],
    [['fg', 'nosuch'], 'ERROR: bad process name supplied\n\n[rc=1]'],
    [['open', 'ftp://x'], 'ERROR: url must be http:// or unix://\n\n[rc=1]'],
  ] as Array<[string[], string | undefined]>)('%j gives the same output everywhere', async (args, expected) => {
    const text = expectAllSame(await fourWay(args));
    if (expected !== undefined) expect(text).toBe(expected);
  });

  it('start of a program that dies before startsecs: spawn error, rc 7', async () => {
    const results = await fourWay(['start', 'fatal']);
    expect(expectAllSame(results)).toBe('fatal: ERROR (spawn error)\n\n[rc=7]');
  });

  it('while supervisord shuts down (a child ignores SIGTERM), every pair reports SHUTDOWN_STATE the same way', async () => {
    const pids: number[] = [];
    for (const daemon of all()) {
      const infos = (await daemon.client.call('supervisor.getAllProcessInfo')) as Array<{ pid: number }>;
      pids.push(...infos.map((i) => i.pid).filter((pid) => pid > 0));
      expect(await daemon.client.call('supervisor.shutdown')).toBe(true);
    }
    try {
      expect(expectAllSame(await fourWay(['status']))).toBe(
          "error: <class 'xmlrpc.client.Fault'>, <Fault 6: 'SHUTDOWN_STATE'>: file: /usr/lib/python3.11/xmlrpc/client.py line: 668\n\n[rc=1]",
      );
      expect(expectAllSame(await fourWay(['shutdown']))).toBe('ERROR: already shutting down\n\n[rc=0]');
      expect(expectAllSame(await fourWay(['reload']))).toBe('ERROR: already shutting down\n\n[rc=1]');
      expect(expectAllSame(await fourWay(['avail']))).toBe('ERROR: supervisor shutting down\n\n[rc=1]');
      expect(expectAllSame(await fourWay(['update']))).toBe('ERROR: already shutting down\n\n[rc=1]');
    } finally {
      // The stubborn child would hold both daemons in shutdown for its whole stopwaitsecs.
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    for (const daemon of all()) await waitFor(`${daemon.kind} supervisord to exit`, () => daemon.child.exitCode !== null);
  });
});
