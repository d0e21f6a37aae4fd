// What a child gets: argv lookup in PATH, supervisord's spawn errors, environment, directory,
// umask, user, its own process group and a stdin pipe.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveCommand, SpawnProblem } from '../../src/supervisor/spawn.js';
import type { ProcessConfig } from '../../src/supervisor/types.js';
import { waitFor } from '../support/wait.js';
import { group, processConfig, startSupervisor, supervisordConfig, tempDir, type TempDir } from './fixtures.js';

let tmp: TempDir;
beforeAll(() => {
  tmp = tempDir('spawn');
});
afterAll(() => tmp.remove());

/** Run one program to its exit and return what it wrote to stdout (and stderr). */
async function runToExit(name: string, argv: string[], overrides: Partial<ProcessConfig> = {}): Promise<{ out: string; err: string; messages: string[] }> {
  const out = tmp.file(`${name}.out`);
  const err = tmp.file(`${name}.err`);
  const h = startSupervisor(
    supervisordConfig(tmp.dir, [
      group(
        processConfig(name, argv, {
          startsecs: 0,
          autorestart: 'false',
          startretries: 0,
          stdout: { kind: 'file', path: out, maxBytes: 0, backups: 0, auto: false },
          stderr: { kind: 'file', path: err, maxBytes: 0, backups: 0, auto: false },
          ...overrides,
        }),
      ),
    ]),
  );
  try {
    await h.waitForLine(new RegExp(`^(exited|gave up): ${name}`));
    const logs = h.supervisor.processLogs(overrides.group ? `${overrides.group}:${name}` : name);
    await logs.stdout?.flush();
    await logs.stderr?.flush();
    const read = (file: string): string => (existsSync(file) ? readFileSync(file, 'utf8') : '');
    return { out: read(out), err: read(err), messages: h.messages() };
  } finally {
    await h.stop();
  }
}

describe('command lookup (supervisord get_execv_args)', () => {
  it('finds a bare name in the program environment PATH first', () => {
    const bin = tmp.file('bin');
    mkdirSync(bin);
    writeFileSync(`${bin}/only-here`, '#!/bin/sh\n');
    chmodSync(`${bin}/only-here`, 0o755);
    expect(resolveCommand(['only-here'], { PATH: bin })).toBe(`${bin}/only-here`);
    expect(resolveCommand(['sh'], {})).toMatch(/\/sh$/);
  });

  it("gives supervisord's spawn error texts", () => {
    const problem = (argv: string[]): SpawnProblem => {
      try {
        resolveCommand(argv, {});
      } catch (error) {
        if (error instanceof SpawnProblem) return error;
      }
      throw new Error('expected a SpawnProblem');
    };
    expect(problem(['nosuchprogram-xyz'])).toMatchObject({ kind: 'not-found', message: "can't find command 'nosuchprogram-xyz'" });
    expect(problem(['/nonexistent/bin'])).toMatchObject({ kind: 'not-found', message: "can't find command '/nonexistent/bin'" });
    expect(problem([tmp.dir]).message).toBe(`command at '${tmp.dir}' is a directory`);
    expect(problem([]).message).toBe('command is empty');
  });
});

describe('the child process', () => {
  it('gets supervisord\'s environment plus SUPERVISOR_* and environment=', async () => {
    process.env.SUPERVISOR_TEST_INHERITED = 'from-parent';
    try {
      const { out } = await runToExit('envy', ['env'], {
        group: 'grp',
        environment: { APP_MODE: 'test', SUPERVISOR_TEST_INHERITED: 'overridden' },
        serverurl: 'unix:///tmp/some.sock',
      });
      const env = Object.fromEntries(out.trim().split('\n').map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]));
      expect(env).toMatchObject({
        SUPERVISOR_ENABLED: '1',
        SUPERVISOR_PROCESS_NAME: 'envy',
        SUPERVISOR_GROUP_NAME: 'grp',
        SUPERVISOR_SERVER_URL: 'unix:///tmp/some.sock',
        APP_MODE: 'test',
        SUPERVISOR_TEST_INHERITED: 'overridden',
      });
      expect(env.PATH).toBe(process.env.PATH);
    } finally {
      delete process.env.SUPERVISOR_TEST_INHERITED;
    }
  });

  it('runs in `directory`, with `umask`, in its own process group, with stdin a pipe', async () => {
    const work = tmp.file('work');
    mkdirSync(work);
    const { out } = await runToExit(
      'where',
      ['sh', '-c', 'pwd; umask; ps -o pgid= -p $$; echo $$; ls -l /proc/$$/fd/0; touch made'],
      { directory: work, umask: 0o027 },
    );
    const [cwd, mask, pgid, pid, stdin] = out.trim().split('\n');
    expect(cwd).toBe(work);
    expect(mask).toBe('0027');
    expect(pgid?.trim()).toBe(pid);
    // Node's 'pipe' is a socketpair; supervisord uses pipe(2). Either way a stream, not a tty or /dev/null.
    expect(stdin).toMatch(/(pipe|socket):\[/);
    // The file was created with umask 027: rw-r-----.
    await import('node:fs/promises').then(async (fs) => expect((await fs.stat(`${work}/made`)).mode & 0o777).toBe(0o640));
  });

  it('a missing directory: the child reports it like supervisord and exits 127', async () => {
    const { err, messages } = await runToExit('lost', ['sleep', '1'], { directory: '/nonexistent' });
    expect(err).toBe("supervisor: couldn't chdir to /nonexistent: ENOENT\nsupervisor: child process was not spawned\n");
    expect(messages).toContain('exited: lost (exit status 127; not expected)');
  });

  it('user= switches uid and gid only (HOME is not changed)', async () => {
    const { out } = await runToExit('nob', ['sh', '-c', 'id -u; id -g; echo "$HOME"'], { user: 'nobody' });
    const [uid, gid, home] = out.trim().split('\n');
    expect(uid).toBe('65534');
    expect(gid).toBe('65534');
    expect(home).toBe(process.env.HOME ?? '');
  });

  it('stdout=inherit passes output through without a pipe of ours', async () => {
    const { messages } = await runToExit('passthrough', ['sh', '-c', 'ls -l /proc/$$/fd/1 >&2'], {
      stdout: { kind: 'inherit', fd: 1 },
    });
    expect(messages).toContain('exited: passthrough (exit status 0; expected)');
    expect(existsSync(tmp.file('passthrough.out'))).toBe(false);
    await waitFor('stderr capture', () => readFileSync(tmp.file('passthrough.err'), 'utf8').length > 0);
  });
});
