// The interactive `supervisor>` shell (stdin piped), maintail, and the [inet_http_server] transport
// (`-s http://127.0.0.1:port`, with auth), our client vs the real one on both daemons.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findFreePort } from '../../../src/db/index.js';
import { normalize, realPeersInstalled, runCtl, startDaemon, type Daemon } from './harness.js';

const PROGRAMS = `
[program:a]
command=sh -c 'echo from-a; exec sleep infinity'
startsecs=0

[program:manual]
command=sleep infinity
autostart=false
`;

describe.skipIf(!realPeersInstalled)('interactive shell, maintail and the inet server', () => {
  const daemons: Daemon[] = [];
  const ports: number[] = [];

  beforeAll(async () => {
    ports.push(await findFreePort(), await findFreePort());
    daemons.push(
      ...(await Promise.all(
        (['real', 'ours'] as const).map((kind, i) =>
          startDaemon(kind, { programs: PROGRAMS, inetPort: ports[i], auth: { username: 'ops', password: 'pw' }, ctlSection: 'username=ops\npassword=pw' }),
        ),
      )),
    );
  });

  afterAll(async () => {
    await Promise.all(daemons.map((d) => d.stop()));
  });

  async function same(args: string[], daemon: Daemon, input?: string): Promise<string> {
    const [real, ours] = await Promise.all([runCtl('real', args, { input }), runCtl('ours', args, { input })]);
    if (!real || !ours) throw new Error('missing result');
    const text = (r: typeof real): string => `${normalize(r.stdout + r.stderr, [daemon.dir])}[rc=${r.exitCode}]`;
    expect(text(ours), `${daemon.kind} supervisord: ${JSON.stringify(args)}`).toBe(text(real));
    return text(real);
  }

  it('runs status first, then each line, prints prompts, and always exits 0', async () => {
    for (const daemon of daemons) {
      const text = await same(['-c', daemon.conf], daemon, 'status a\nbogus\n\nhelp version\nstop manual\nquit\n');
      expect(text).toBe(
        [
          'a                                RUNNING   pid <PID>, uptime <UPTIME>',
          'manual                           STOPPED   Not started',
          'supervisor> a                                RUNNING   pid <PID>, uptime <UPTIME>',
          'supervisor> *** Unknown syntax: bogus',
          'supervisor> supervisor> version\t\t\tShow the version of the remote supervisord process',
          'supervisor> manual: ERROR (not running)',
          'supervisor> ',
          '[rc=0]',
        ].join('\n'),
      );
      // End of input is the EOF command.
      expect(await same(['-c', daemon.conf], daemon, 'pid manual')).toMatch(/supervisor> 0\nsupervisor> \n\[rc=0\]$/);
    }
  });

  it('maintail prints the end of the main log', async () => {
    for (const daemon of daemons) {
      const text = await same(['-c', daemon.conf, 'maintail', '-300'], daemon);
      expect(text).toMatch(/spawned: 'a' with pid <?\w+>?/);
      expect(await same(['-c', daemon.conf, 'maintail', 'x'], daemon)).toBe('Error: bad argument x\n[rc=1]');
    }
  });

  it('serves and speaks -s http://host:port with auth', async () => {
    for (const [i, daemon] of daemons.entries()) {
      const url = `http://127.0.0.1:${ports[i] ?? 0}`;
      expect(await same(['-s', url, '-u', 'ops', '-p', 'pw', 'status', 'a'], daemon)).toBe(
        'a                                RUNNING   pid <PID>, uptime <UPTIME>\n[rc=0]',
      );
      expect(await same(['-s', url, '-u', 'ops', '-p', 'bad', 'status'], daemon)).toContain('Server requires authentication\n');
      expect(await same(['-s', url, '-u', 'ops', '-p', 'pw', 'tail', 'a'], daemon)).toBe('from-a\n\n[rc=0]');
    }
  });
});
