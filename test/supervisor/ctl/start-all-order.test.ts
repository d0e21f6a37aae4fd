// `start all` reports its results in the order they come (supervisord's make_allfunc): a program that fails
// at once before one that starts, and that one before a program whose start fails later. supervisorctl's
// exit status follows the last error it prints, so the order decides what `start all` exits with.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithRealPeers, normalize, runCtl, startDaemons, type Daemon } from './harness.js';

const PROGRAMS = `
[program:fail]
command=sh -c 'sleep 0.5; exit 1'
startsecs=2
startretries=0
autostart=false

[program:nofile]
command=/nonexistent/bin
autostart=false

[program:run]
command=sleep infinity
startsecs=0
autostart=false
`;

describeWithRealPeers('start all: results in the order they come', () => {
  const daemons: Daemon[] = [];
  beforeAll(async () => {
    const started = await startDaemons(['real', 'ours'], () => ({ programs: PROGRAMS }));
    for (const daemon of started) if (daemon) daemons.push(daemon);
  });
  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
  });

  it('the same lines in the same order and the same exit status on both daemons, with either client', async () => {
    expect(daemons.map((d) => d.kind)).toEqual(['real', 'ours']);
    for (const client of ['real', 'ours'] as const) {
      const texts: string[] = [];
      for (const daemon of daemons) {
        const result = await runCtl(client, ['-c', daemon.conf, 'start', 'all']);
        texts.push(`${normalize(result.stdout + result.stderr, [daemon.dir])}[rc=${result.exitCode}]`);
        await runCtl(client, ['-c', daemon.conf, 'stop', 'all']);
      }
      expect(texts[0]).toBe('nofile: ERROR (no such file)\nrun: started\nfail: ERROR (spawn error)\n[rc=7]');
      expect(texts[1], `${client} ctl: our supervisord vs the real one`).toBe(texts[0]);
    }
  });
});
