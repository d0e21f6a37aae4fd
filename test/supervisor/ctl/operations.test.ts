// State-changing commands (start/stop/restart of one, a group, all; signal; clear; reread/update
// after config changes; tail -f; shutdown), run on a real and on our supervisord with the same
// config. Each step is run by one client on both daemons, alternating the real and our client, so
// every direction is exercised: real ctl → our daemon, our ctl → real daemon, ours → ours.
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { configText, normalize, describeWithRealPeers, runCtl, startDaemons, states, type Daemon, type Peer } from './harness.js';
import { supervisorctlCommand } from '../fixtures.js';

const sleeper = `sh -c "trap '' HUP USR1; exec sleep infinity"`;

const V1 = `
[program:a]
command=sleep infinity

[program:b]
command=sleep infinity
startsecs=0
priority=10

[program:ticker]
command=sh -c 'i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done'
startsecs=0

[group:grp]
programs=g1,g2

[program:g1]
command=${sleeper}
startsecs=0

[program:g2]
command=${sleeper}
startsecs=0
`;

// b removed, a changed, c added.
const V2 = V1.replace('[program:a]\ncommand=sleep infinity', '[program:a]\ncommand=sleep 100000')
  .replace('[program:b]\ncommand=sleep infinity\nstartsecs=0\npriority=10\n', '')
  .concat('\n[program:c]\ncommand=sleep infinity\nstartsecs=0\n');

// c removed, a changed back, d added.
const V3 = V1.replace('[program:b]\ncommand=sleep infinity\nstartsecs=0\npriority=10\n', '').concat(
  '\n[program:d]\ncommand=sleep infinity\nstartsecs=0\nautostart=false\n',
);

const sortedLines = (text: string): string => text.split('\n').sort().join('\n');

describeWithRealPeers('supervisorctl operations against real and our supervisord', () => {
  const daemons: Partial<Record<Peer, Daemon>> = {};

  beforeAll(async () => {
    const [real, ours] = await startDaemons(['real', 'ours'], () => ({ programs: V1 }));
    if (!real || !ours) throw new Error('daemons not started');
    daemons.real = real;
    daemons.ours = ours;
    for (const daemon of [real, ours]) {
      await waitFor(`every program RUNNING on ${daemon.kind}`, async () => {
        const current = await states(daemon.client);
        return Object.values(current).length === 5 && Object.values(current).every((s) => s === 'RUNNING');
      });
    }
  });

  afterAll(async () => {
    await Promise.all(Object.values(daemons).map((d) => d.stop()));
  });

  function both(): Daemon[] {
    const { real, ours } = daemons;
    if (!real || !ours) throw new Error('daemons not started');
    return [real, ours];
  }

  /** `client` runs `args` on both daemons; both runs must print the same (normalized) text and rc. */
  async function onBoth(client: Peer, args: string[], { sort = false } = {}): Promise<string> {
    const texts: string[] = [];
    for (const daemon of both()) {
      const result = await runCtl(client, ['-c', daemon.conf, ...args]);
      const text = normalize(result.stdout + result.stderr, [daemon.dir]);
      texts.push(`${sort ? sortedLines(text) : text}[rc=${result.exitCode}]`);
    }
    expect(texts[1], `${client} ctl: our supervisord vs the real one`).toBe(texts[0]);
    return texts[0] ?? '';
  }

  it.each([
    ['real', ['stop', 'a'], 'a: stopped\n[rc=0]'],
    ['ours', ['start', 'a'], 'a: started\n[rc=0]'],
    ['ours', ['restart', 'a'], 'a: stopped\na: started\n[rc=0]'],
    ['real', ['restart', 'a', 'b'], 'a: stopped\nb: stopped\na: started\nb: started\n[rc=0]'],
    ['real', ['stop', 'nosuch', 'b'], 'nosuch: ERROR (no such process)\nb: stopped\n[rc=1]'],
    ['ours', ['start', 'b', 'b'], 'b: started\nb: ERROR (already started)\n[rc=0]'],
    ['real', ['stop', 'grp:*'], 'grp:g1: stopped\ngrp:g2: stopped\n[rc=0]'],
    ['ours', ['start', 'grp:*'], 'grp:g1: started\ngrp:g2: started\n[rc=0]'],
    ['ours', ['restart', 'grp:'], 'grp:g1: stopped\ngrp:g2: stopped\ngrp:g1: started\ngrp:g2: started\n[rc=0]'],
    ['real', ['signal', 'HUP', 'grp:*'], 'grp:g1: signalled\ngrp:g2: signalled\n[rc=0]'],
    ['ours', ['signal', 'USR1', 'grp:g1', 'grp:g2'], 'grp:g1: signalled\ngrp:g2: signalled\n[rc=0]'],
    ['ours', ['signal', '10', 'grp:g1'], 'grp:g1: signalled\n[rc=0]'],
    ['ours', ['clear', 'ticker'], 'ticker: cleared\n[rc=0]'],
    ['real', ['clear', 'all'], 'b: cleared\na: cleared\ngrp:g1: cleared\ngrp:g2: cleared\nticker: cleared\n[rc=0]'],
  ] as Array<[Peer, string[], string]>)('%s ctl: %j', async (client, args, expected) => {
    // supervisord stops and starts a group's processes together and reports them as they finish, so
    // under load g2 may come before g1: group results are compared as sorted lines.
    const sort = args.some((arg) => arg.startsWith('grp:'));
    const [text = '', rc = ''] = expected.split(/(?=\[rc=\d+\]$)/);
    expect(await onBoth(client, args, { sort })).toBe(sort ? `${sortedLines(text)}${rc}` : expected);
  });

  it.each([
    ['ours', ['stop', 'all']],
    ['real', ['start', 'all']],
    ['real', ['restart', 'all']],
    ['ours', ['restart', 'all']],
    ['ours', ['stop', 'all']],
    ['ours', ['start', 'all']],
  ] as Array<[Peer, string[]]>)('%s ctl: %j (supervisord finishes them in any order, so lines are compared sorted)', async (client, args) => {
    const text = await onBoth(client, args, { sort: true });
    const verbs = args[0] === 'restart' ? ['stopped', 'started'] : [args[0] === 'stop' ? 'stopped' : 'started'];
    for (const name of ['a', 'b', 'grp:g1', 'grp:g2', 'ticker']) for (const verb of verbs) expect(text).toContain(`${name}: ${verb}`);
    expect(text.endsWith('[rc=0]')).toBe(true);
  });

  it('pid all lists one pid per process', async () => {
    const text = await onBoth('ours', ['pid', 'all']);
    expect(text).toBe('<NUMBER>\n<NUMBER>\n<NUMBER>\n<NUMBER>\n<NUMBER>\n[rc=0]');
  });

  it('tail -f streams new output until Ctrl-C (both clients, both daemons)', async () => {
    for (const daemon of both()) {
      for (const client of ['real', 'ours'] as const) {
        const [command, args] = supervisorctlCommand(client, ['-c', daemon.conf, 'tail', '-f', 'ticker']);
        const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
        let out = '';
        let err = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
        });
        child.stderr.on('data', (chunk: Buffer) => {
          err += chunk.toString();
        });
        const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
        const label = `${client} ctl → ${daemon.kind} supervisord`;
        try {
          await waitFor(`${label}: banner and a first tick`, () => out.startsWith('==> Press Ctrl-C to exit <==\n') && /tick \d+\n/.test(out));
          const first = Number(/tick (\d+)\n(?![\s\S]*tick)/.exec(out)?.[1] ?? -1);
          // Live output, not just the initial 1024 bytes: a later tick arrives while we wait.
          await waitFor(`${label}: a tick newer than ${first}`, () => [...out.matchAll(/tick (\d+)/g)].some((m) => Number(m[1]) > first + 1));
        } finally {
          child.kill('SIGINT');
        }
        expect(await exited, label).toBe(0);
        expect(err, label).toBe('');
      }
    }
  });

  it('tail -f of an unknown process reports the 404 on stderr, rc 0 (both clients, both daemons)', async () => {
    for (const daemon of both()) {
      for (const client of ['real', 'ours'] as const) {
        const result = await runCtl(client, ['-c', daemon.conf, 'tail', '-f', 'nosuch']);
        expect(result.stdout).toBe('==> Press Ctrl-C to exit <==\n');
        expect(result.stderr).toBe(`unix://${daemon.dir}/sock/logtail/nosuch/stdout Cannot read, status code 404\n`);
        expect(result.exitCode).toBe(0);
      }
    }
  });

  it('reread and update after a config change: added, changed and removed programs', async () => {
    for (const daemon of both()) await daemon.writeConfig(configText({ programs: V2 }));
    // reread changes nothing, so all four pairs must agree.
    for (const client of ['real', 'ours'] as const) {
      expect(await onBoth(client, ['reread'])).toBe('a: changed\nb: disappeared\nc: available\n[rc=0]');
    }
    for (const client of ['real', 'ours'] as const) {
      expect(await onBoth(client, ['avail'])).toBe(
        [
          'a                                in use    auto      999:999',
          'c                                avail     auto      999:999',
          'grp:g1                           in use    auto      999:999',
          'grp:g2                           in use    auto      999:999',
          'ticker                           in use    auto      999:999',
          '[rc=0]',
        ].join('\n'),
      );
    }
    expect(await onBoth('real', ['update', 'nosuchgroup'])).toBe('ERROR: no such group: nosuchgroup\n[rc=1]');
    expect(await onBoth('real', ['update'])).toBe(
      'b: stopped\nb: removed process group\na: stopped\na: updated process group\nc: added process group\n[rc=0]',
    );
    expect(await onBoth('ours', ['reread'])).toBe('No config updates to processes\n[rc=0]');

    for (const daemon of both()) await daemon.writeConfig(configText({ programs: V3 }));
    expect(await onBoth('ours', ['update', 'c', 'd'])).toBe('c: stopped\nc: removed process group\nd: added process group\n[rc=0]');
    expect(await onBoth('ours', ['update', 'all'])).toBe('a: stopped\na: updated process group\n[rc=0]');
    expect(await onBoth('real', ['remove', 'd'])).toBe('d: removed process group\n[rc=0]');
    expect(await onBoth('ours', ['add', 'd'])).toBe('d: added process group\n[rc=0]');
    expect(await onBoth('ours', ['add', 'd'])).toBe('ERROR: process group already active\n[rc=0]');
    expect(await onBoth('real', ['remove', 'ticker'])).toBe('ERROR: process/group still running: ticker\n[rc=1]');
    for (const daemon of both()) {
      await waitFor(`a RUNNING again on ${daemon.kind}`, async () => (await states(daemon.client)).a === 'RUNNING');
    }
    for (const client of ['real', 'ours'] as const) {
      expect(await onBoth(client, ['status'])).toBe(
        [
          'a                                RUNNING   pid <PID>, uptime <UPTIME>',
          'd                                STOPPED   Not started',
          'grp:g1                           RUNNING   pid <PID>, uptime <UPTIME>',
          'grp:g2                           RUNNING   pid <PID>, uptime <UPTIME>',
          'ticker                           RUNNING   pid <PID>, uptime <UPTIME>',
          '[rc=3]',
        ].join('\n'),
      );
    }
  });

  it('reread of a broken config reports CANT_REREAD and changes nothing', async () => {
    for (const daemon of both()) await daemon.writeConfig(`${configText({ programs: V3 })}\n[program:broken]\nautostart=maybe\ncommand=x\n`);
    for (const client of ['real', 'ours'] as const) {
      const text = await onBoth(client, ['reread']);
      expect(text).toMatch(/^ERROR: CANT_REREAD: not a valid boolean value: 'maybe' in section 'program:broken'/);
      expect(text.endsWith('[rc=1]')).toBe(true);
    }
    // A reload with the broken file would make both daemons exit; put the good one back.
    for (const daemon of both()) await daemon.writeConfig(configText({ programs: V3 }));
    expect(await onBoth('ours', ['reread'])).toBe('No config updates to processes\n[rc=0]');
  });

  it('reload restarts supervisord (same pid) and it serves again', async () => {
    const pids = await Promise.all(both().map((d) => d.client.call('supervisor.getPID')));
    expect(await onBoth('real', ['reload'])).toBe('Restarted supervisord\n[rc=0]');
    for (const daemon of both()) {
      await waitFor(`${daemon.kind} supervisord RUNNING after reload`, async () => {
        const current = await states(daemon.client);
        return current.a === 'RUNNING' && current.ticker === 'RUNNING';
      });
    }
    expect(await Promise.all(both().map((d) => d.client.call('supervisor.getPID')))).toEqual(pids);
    expect(await onBoth('ours', ['status', 'a'])).toBe('a                                RUNNING   pid <PID>, uptime <UPTIME>\n[rc=0]');
  });

  it('shutdown: "Shut down", then the daemon goes away', async () => {
    // The last step: real ctl shuts down the real daemon and ours ours, then the reverse error path.
    for (const [client, daemon] of [
      ['real', daemons.ours],
      ['ours', daemons.real],
    ] as Array<[Peer, Daemon | undefined]>) {
      if (!daemon) throw new Error('daemon missing');
      const result = await runCtl(client, ['-c', daemon.conf, 'shutdown']);
      expect(result.stdout).toBe('Shut down\n');
      expect(result.exitCode).toBe(0);
      await waitFor(`${daemon.kind} supervisord to exit`, () => daemon.child.exitCode !== null);
      const again = await runCtl(client === 'real' ? 'ours' : 'real', ['-c', daemon.conf, 'shutdown']);
      expect(again.stdout).toBe(`ERROR: unix://${daemon.dir}/sock no such file (already shut down?)\n`);
      expect(again.exitCode).toBe(1);
    }
  });
});
