import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, sameProcessConfig } from '../../../src/supervisor/config/index.js';
import type { ProcessConfig, SupervisordConfig } from '../../../src/supervisor/types.js';

let root: string;
let counter = 0;
const ENV = { HOME: '/home/tester', FOO: 'bar', PATH: '/usr/bin:/bin' };

beforeAll(() => {
  root = mkdtempSync(path.join(os.tmpdir(), 'config-load-'));
});
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** A fresh directory with `files` in it (paths relative to it); returns its path. */
function dirWith(files: Record<string, string>): string {
  counter += 1;
  const dir = path.join(root, `case${counter}`);
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), text.replaceAll('DIR', dir));
  }
  return dir;
}

/** `[supervisord]` with its files inside the case dir. */
const SUPERVISORD = '[supervisord]\nlogfile=DIR/sd.log\npidfile=DIR/sd.pid\nchildlogdir=DIR\n';

async function load(text: string, env: Record<string, string> = ENV): Promise<SupervisordConfig> {
  const dir = dirWith({ 'x.conf': text });
  return loadConfig(path.join(dir, 'x.conf'), { env, hostname: 'node7', cwd: dir });
}

interface SeenError {
  message: string;
  supervisordMessage: string;
  location: ConfigError['location'];
}

async function loadError(text: string, env: Record<string, string> = ENV): Promise<SeenError> {
  const dir = dirWith({ 'x.conf': text });
  try {
    await loadConfig(path.join(dir, 'x.conf'), { env, hostname: 'node7', cwd: dir });
  } catch (error) {
    if (error instanceof ConfigError) {
      // Tests compare messages with the case dir written as DIR.
      return {
        message: error.message.replaceAll(dir, 'DIR'),
        supervisordMessage: error.supervisordMessage.replaceAll(dir, 'DIR'),
        location: error.location,
      };
    }
    throw error;
  }
  throw new Error('expected a ConfigError');
}

async function program(keys: string, env?: Record<string, string>): Promise<ProcessConfig> {
  const config = await load(`${SUPERVISORD}[program:a]\n${keys}\n`, env);
  const process = config.groups[0]?.processes[0];
  if (process === undefined) throw new Error('no process');
  return process;
}

/** supervisord's suffix for errors in [program:a] of the case file. */
const IN_A = " in section 'program:a' (file: 'DIR/x.conf')";

describe('loadConfig: [program:x] defaults', () => {
  it('gives every key supervisord\'s default', async () => {
    const p = await program('command=/bin/cat');
    expect(p).toMatchObject({
      name: 'a',
      group: 'a',
      programName: 'a',
      command: '/bin/cat',
      argv: ['/bin/cat'],
      priority: 999,
      autostart: true,
      autorestart: 'unexpected',
      startsecs: 1,
      startretries: 3,
      exitcodes: [0],
      stopsignal: 'TERM',
      stopwaitsecs: 10,
      stopasgroup: false,
      killasgroup: false,
      user: null,
      redirectStderr: false,
      environment: {},
      directory: null,
      umask: null,
      serverurl: '',
    });
    expect(p.uid).toBeUndefined();
    expect(p.commandError).toBeUndefined();
    for (const [channel, target] of [
      ['stdout', p.stdout],
      ['stderr', p.stderr],
    ] as const) {
      expect(target).toMatchObject({ kind: 'file', maxBytes: 50 * 1024 * 1024, backups: 10, auto: true });
      if (target.kind !== 'file') throw new Error('not a file');
      expect(path.basename(target.path)).toMatch(new RegExp(`^a-${channel}---supervisor-[a-z0-9_]{8}\\.log$`));
      expect(path.isAbsolute(target.path)).toBe(true);
    }
  });

  it('reads every key when given', async () => {
    const p = await program(
      [
        'command=/bin/sh -c "exit 3"',
        'priority=-5',
        'autostart=no',
        'autorestart=true',
        'startsecs=0',
        'startretries=7',
        'exitcodes=0,2',
        'stopsignal=sigint',
        'stopwaitsecs=2',
        'stopasgroup=true',
        'user=root',
        'stdout_logfile=DIR/out.log',
        'stdout_logfile_maxbytes=1KB',
        'stdout_logfile_backups=0',
        'stderr_logfile=NONE',
        'environment=A="x, y",B=2',
        'directory=/tmp',
        'umask=027',
      ].join('\n'),
    );
    expect(p).toMatchObject({
      argv: ['/bin/sh', '-c', 'exit 3'],
      priority: -5,
      autostart: false,
      autorestart: 'true',
      startsecs: 0,
      startretries: 7,
      exitcodes: [0, 2],
      stopsignal: 'INT',
      stopwaitsecs: 2,
      stopasgroup: true,
      killasgroup: true,
      user: 'root',
      uid: 0,
      gid: 0,
      stderr: { kind: 'none' },
      environment: { A: 'x, y', B: '2' },
      directory: '/tmp',
      umask: 0o27,
    });
    expect(p.stdout).toMatchObject({ kind: 'file', maxBytes: 1024, backups: 0, auto: false });
    if (p.stdout.kind === 'file') expect(p.stdout.path).toMatch(/\/out\.log$/u);
  });

  it('maps /dev/stdout and /dev/stderr to inherit, NONE/OFF to none', async () => {
    const p = await program('command=x\nstdout_logfile=/dev/stdout\nstderr_logfile=/dev/stderr');
    expect(p.stdout).toEqual({ kind: 'inherit', fd: 1 });
    expect(p.stderr).toEqual({ kind: 'inherit', fd: 2 });
    const q = await program('command=x\nstdout_logfile=off\nstderr_logfile=None');
    expect(q.stdout).toEqual({ kind: 'none' });
    expect(q.stderr).toEqual({ kind: 'none' });
  });

  it('sends no stderr log with redirect_stderr, warning when a stderr file was named', async () => {
    const config = await load(`${SUPERVISORD}[program:a]\ncommand=x\nredirect_stderr=true\nstderr_logfile=DIR/err.log\n`);
    const p = config.groups[0]?.processes[0];
    expect(p?.redirectStderr).toBe(true);
    expect(p?.stderr).toEqual({ kind: 'none' });
    expect(config.warnings).toContain(
      'For [program:a], redirect_stderr=true but stderr_logfile has also been set to a filename, the filename has been ignored',
    );
  });

  it('warns about AUTO logs without rollover', async () => {
    const config = await load(`${SUPERVISORD}[program:a]\ncommand=x\nstdout_logfile_maxbytes=0\n`);
    expect(config.warnings).toContain(
      'For [program:a], AUTO logging used for stdout_logfile without rollover, set maxbytes > 0 to avoid filling up filesystem unintentionally',
    );
  });

  it('lets killasgroup default to stopasgroup, and be set on its own', async () => {
    expect((await program('command=x\nstopasgroup=true')).killasgroup).toBe(true);
    const p = await program('command=x\nkillasgroup=true');
    expect([p.stopasgroup, p.killasgroup]).toEqual([false, true]);
  });

  it('records an unsplittable or empty command for the spawner', async () => {
    const p = await program(`command=/bin/echo "open`);
    expect(p.argv).toEqual([]);
    expect(p.commandError).toBe(`can't parse command '/bin/echo "open': No closing quotation`);
    expect((await program('command=')).commandError).toBe('command is empty');
  });

  it('splits a multi-line command on newlines', async () => {
    const p = await program('command=/bin/echo a\n  b ; comment\n  c');
    expect(p.command).toBe('/bin/echo a\nb\nc');
    expect(p.argv).toEqual(['/bin/echo', 'a', 'b', 'c']);
  });

  it('merges [supervisord] environment under the program\'s', async () => {
    const config = await load(
      `[supervisord]\nlogfile=DIR/sd.log\nchildlogdir=DIR\nenvironment=A=1,B=1\n[program:a]\ncommand=x\nenvironment=B=2\n`,
    );
    expect(config.groups[0]?.processes[0]?.environment).toEqual({ A: '1', B: '2' });
    expect(config.supervisord.environment).toEqual({ A: '1', B: '1' });
  });
});

describe('loadConfig: bad [program:x] values give supervisord\'s message', () => {
  it.each([
    ['autostart=maybe', "not a valid boolean value: 'maybe'"],
    ['autorestart=sometimes', "invalid 'autorestart' value 'sometimes'"],
    ['startsecs=abc', "invalid literal for int() with base 10: 'abc'"],
    ['startsecs=3;x', "invalid literal for int() with base 10: '3;x'"],
    ['startretries=', "invalid literal for int() with base 10: ''"],
    ['exitcodes=0,256', "not a valid list of exit codes: '0,256'"],
    ['stopsignal=FOO', "value 'FOO' is not a valid signal name"],
    ['stopwaitsecs=1.5', "invalid literal for int() with base 10: '1.5'"],
    ['stopasgroup=2', "not a valid boolean value: '2'"],
    ['killasgroup=x', "not a valid boolean value: 'x'"],
    ['stopasgroup=true\nkillasgroup=false', 'Cannot set stopasgroup=true and killasgroup=false'],
    ['redirect_stderr=perhaps', "not a valid boolean value: 'perhaps'"],
    ['numprocs=two', "invalid literal for int() with base 10: 'two'"],
    ['numprocs=2', '%(process_num) must be present within process_name when numprocs > 1'],
    ['numprocs_start=x', "invalid literal for int() with base 10: 'x'"],
    ['user=nosuchuser', 'Invalid user name nosuchuser'],
    ['umask=9', '9 can not be converted to an octal type'],
    ['environment=A=1,B', "Unexpected end of key/value pairs in value 'A=1,B'"],
    ['environment=A="open', 'No closing quotation'],
    ['stdout_logfile=/nonexistent/x.log', 'The directory named as part of the path /nonexistent/x.log does not exist'],
    ['stderr_logfile=/nonexistent/e.log', 'The directory named as part of the path /nonexistent/e.log does not exist'],
    ['stdout_logfile_maxbytes=50XB', "invalid literal for int() with base 10: '50xb'"],
    ['stderr_logfile_maxbytes=1.5MB', "invalid literal for int() with base 10: '1.5'"],
    ['stdout_logfile_backups=many', "invalid literal for int() with base 10: 'many'"],
    ['stderr_logfile_backups=-', "invalid literal for int() with base 10: '-'"],
    ['stdout_syslog=sometimes', "not a valid boolean value: 'sometimes'"],
    ['stdout_capture_maxbytes=1x', "invalid literal for int() with base 10: '1x'"],
    ['stdout_events_enabled=9', "not a valid boolean value: '9'"],
    ['stderr_syslog=sometimes', "not a valid boolean value: 'sometimes'"],
    ['stderr_capture_maxbytes=1.0', "invalid literal for int() with base 10: '1.0'"],
    ['stderr_events_enabled=nah', "not a valid boolean value: 'nah'"],
    ['directory=%(nope)s', "Format string '%(nope)s' for 'program:a.directory' contains names ('nope') which cannot be expanded. Available names: ENV_FOO, ENV_HOME, ENV_PATH, group_name, here, host_node_name, numprocs, process_num, program_name"],
    ['serverurl=%', "Format string '%' for 'program:a.serverurl' is badly formatted: incomplete format"],
    ['process_name=a b', "Invalid name: 'a b' because of character: ' '"],
  ])('%s', async (keys, message) => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\n${keys}\n`);
    expect(error.message.split('\n')[0]).toBe(message + IN_A);
  });

  it('refuses a NUL in a value or a key, naming the key and line', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=/bin/sleep 10\u0000 5\n`);
    expect(error.message).toBe(`embedded null byte in value of 'command'${IN_A}\n  (at DIR/x.conf line 6 [program:a], key 'command')`);
    expect(error.location).toMatchObject({ section: 'program:a', key: 'command', line: 6 });
    const inKey = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\nst\u0000x=1\n`);
    expect(inKey.supervisordMessage).toBe(`embedded null byte in key 'st\\x00x'${IN_A}`);
  });

  it('refuses bytes that are not UTF-8 with the message supervisord prints, in the main file and in an included one', async () => {
    const bad = Buffer.concat([Buffer.from(`${SUPERVISORD}[program:a]\ncommand=/bin/sleep `), Buffer.from([0xff, 0xfe]), Buffer.from(' 5\n')]);
    const dir = dirWith({});
    writeFileSync(path.join(dir, 'x.conf'), Buffer.from(bad.toString('latin1').replaceAll('DIR', dir), 'latin1'));
    const position = bad.toString('latin1').replaceAll('DIR', dir).indexOf('\u00ff');
    const expected = `'utf-8' codec can't decode byte 0xff in position ${position}: invalid start byte`;
    await expect(loadConfig(path.join(dir, 'x.conf'), { env: ENV, hostname: 'node7', cwd: dir })).rejects.toThrow(expected);
    // What Debian's supervisord 4.2.5 says for the same file, when it is installed.
    if (existsSync('/usr/bin/supervisord')) {
      const real = spawnSync('/usr/bin/supervisord', ['-n', '-c', path.join(dir, 'x.conf')], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, LANG: 'C.UTF-8' } });
      expect(real.status).toBe(2);
      expect(real.stderr.split('\n')[0]).toBe(`Error: ${expected}`);
    }
    const including = dirWith({ 'x.conf': `${SUPERVISORD}[include]\nfiles=conf.d/*.conf\n` });
    mkdirSync(path.join(including, 'conf.d'));
    writeFileSync(path.join(including, 'conf.d', 'b.conf'), Buffer.from([0x5b, 0x70, 0xc3, 0x28]));
    await expect(loadConfig(path.join(including, 'x.conf'), { env: ENV, hostname: 'node7', cwd: including })).rejects.toThrow(
      "'utf-8' codec can't decode byte 0xc3 in position 2: invalid continuation byte",
    );
  });

  it('names the key and line on a second line', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\n\nstartsecs=abc\n`);
    expect(error.message).toBe(
      `invalid literal for int() with base 10: 'abc'${IN_A}\n  (at DIR/x.conf line 8 [program:a], key 'startsecs')`,
    );
    expect(error.location).toMatchObject({ section: 'program:a', key: 'startsecs', line: 8 });
    expect(error.supervisordMessage).not.toContain('\n');
  });

  it('reports the first bad key in supervisord\'s reading order', async () => {
    // supervisord reads autostart before startsecs, whatever the file order.
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\nstartsecs=abc\nautostart=maybe\n`);
    expect(error.message.split('\n')[0]).toBe(`not a valid boolean value: 'maybe'${IN_A}`);
  });

  it('requires a command', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\nautostart=true\n`);
    expect(error.message.split('\n')[0]).toBe(`program section program:a does not specify a command${IN_A}`);
  });

  it('rejects bad program names without the section suffix, as supervisord does', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a b]\ncommand=x\n`);
    expect(error.message).toBe("Invalid name: 'a b' because of character: ' '");
  });

  it('reads priority once before the program names exist (no suffix then)', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\npriority=abc\n`);
    expect(error.message.split('\n')[0]).toBe("invalid literal for int() with base 10: 'abc'");
  });
});

describe('loadConfig: expansions', () => {
  it('expands here, ENV_, program_name, group_name, host_node_name, numprocs and %%', async () => {
    const p = await program(
      'command=/bin/echo %(here)s %(ENV_FOO)s %(program_name)s %(group_name)s %(host_node_name)s %(numprocs)d 100%%',
    );
    expect(p.argv.slice(1)).toEqual([path.dirname(p.stdout.kind === 'file' ? p.stdout.path : ''), 'bar', 'a', 'a', 'node7', '1', '100%']);
  });

  it('names processes with process_num in any printf format', async () => {
    const config = await load(
      `${SUPERVISORD}[program:w]\ncommand=sleep %(process_num)d\nprocess_name=%(program_name)s_%(process_num)02d\nnumprocs=3\nnumprocs_start=8\nenvironment=N=%(process_num)03d\nstdout_logfile=DIR/w-%(process_num)d.log\ndirectory=/tmp/%(process_num)d\n`,
    );
    const processes = config.groups[0]?.processes ?? [];
    expect(processes.map((p) => p.name)).toEqual(['w_08', 'w_09', 'w_10']);
    expect(processes.map((p) => p.argv[1])).toEqual(['8', '9', '10']);
    expect(processes.map((p) => p.environment.N)).toEqual(['008', '009', '010']);
    expect(processes.map((p) => p.directory)).toEqual(['/tmp/8', '/tmp/9', '/tmp/10']);
    expect(processes.map((p) => (p.stdout.kind === 'file' ? path.basename(p.stdout.path) : ''))).toEqual([
      'w-8.log',
      'w-9.log',
      'w-10.log',
    ]);
    expect(processes.every((p) => p.group === 'w' && p.programName === 'w')).toBe(true);
  });

  it('lets later keys use the program\'s own environment as ENV_', async () => {
    const p = await program('environment=GREETING=hi\ncommand=/bin/echo %(ENV_GREETING)s');
    expect(p.argv).toEqual(['/bin/echo', 'hi']);
  });

  it('lets program sections use [supervisord] environment as ENV_', async () => {
    const config = await load(
      `[supervisord]\nlogfile=DIR/sd.log\nchildlogdir=DIR\nenvironment=ROLE=web\n[program:a]\ncommand=/bin/echo %(ENV_ROLE)s\n`,
    );
    expect(config.groups[0]?.processes[0]?.argv).toEqual(['/bin/echo', 'web']);
  });

  it('takes ENV_ from the given environment', async () => {
    const p = await program('command=/bin/echo %(ENV_ONLY_HERE)s', { ONLY_HERE: 'yes' });
    expect(p.argv).toEqual(['/bin/echo', 'yes']);
  });

  it('expands [supervisord] keys with here and ENV_', async () => {
    const config = await load('[supervisord]\nlogfile=%(here)s/main.log\nchildlogdir=%(here)s\nidentifier=%(ENV_FOO)s\n');
    expect(path.basename(config.supervisord.logfile ?? '')).toBe('main.log');
    expect(config.supervisord.identifier).toBe('bar');
  });

  it('rejects an unknown name with the list of available ones', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=sleep %(ENV_NOPE)s\n`, { FOO: 'bar' });
    expect(error.message.split('\n')[0]).toBe(
      "Format string 'sleep %(ENV_NOPE)s' for 'program:a.command' contains names ('ENV_NOPE') which cannot be expanded. " +
        `Available names: ENV_FOO, group_name, here, host_node_name, numprocs, process_num, program_name${IN_A}`,
    );
  });

  it('does not offer process_num to keys read before numprocs is expanded', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\nstartsecs=%(process_num)d\n`, {});
    expect(error.message.split('\n')[0]).toBe(
      "Format string '%(process_num)d' for 'program:a.startsecs' contains names ('process_num') which cannot be expanded. " +
        `Available names: group_name, here, host_node_name, program_name${IN_A}`,
    );
  });

  it('rejects a lone %', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=sleep 100%\n`);
    expect(error.message.split('\n')[0]).toBe(
      `Format string 'sleep 100%' for 'program:a.command' is badly formatted: incomplete format${IN_A}`,
    );
  });

  it('expands log file names twice, as supervisord does', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\nstdout_logfile=DIR/x%%.log\n`);
    expect(error.message.split('\n')[0]).toBe(
      `Format string 'DIR/x%.log' for 'stdout_logfile' is badly formatted: %o format: an integer is required, not dict${IN_A}`,
    );
  });

  it('does not offer host_node_name on the first expansion of [supervisord] environment', async () => {
    const error = await loadError('[supervisord]\nlogfile=DIR/sd.log\nenvironment=H=%(host_node_name)s\n', {});
    expect(error.message.split('\n')[0]).toBe(
      "Format string 'H=%(host_node_name)s' for 'supervisord.environment' contains names ('host_node_name') which cannot be expanded. Available names: here",
    );
  });
});

describe('loadConfig: [include]', () => {
  it('reads globs relative to the main file\'s dir, sorted, with %(here)s per file', async () => {
    const dir = dirWith({
      'etc/main.conf': `${SUPERVISORD}[include]\nfiles=conf.d/*.conf other/b.ini\n[program:a]\ncommand=/bin/a\n`,
      'etc/conf.d/20-c.conf': '[program:c]\ncommand=/bin/echo %(here)s\n',
      'etc/conf.d/10-b.conf': '[program:a]\npriority=1\n[program:b]\ncommand=/bin/b\n',
      'etc/conf.d/.hidden.conf': '[program:hidden]\ncommand=x\n',
      'etc/conf.d/not-matched.txt': '[program:txt]\ncommand=x\n',
      'etc/other/b.ini': '[program:d]\ncommand=/bin/d\n',
    });
    const config = await loadConfig(path.join(dir, 'etc/main.conf'), { env: ENV, cwd: '/' });
    expect(config.includedFiles).toEqual([
      path.join(dir, 'etc/conf.d/10-b.conf'),
      path.join(dir, 'etc/conf.d/20-c.conf'),
      path.join(dir, 'etc/other/b.ini'),
    ]);
    expect(config.infos).toEqual(config.includedFiles.map((f) => `Included extra file "${f}" during parsing`));
    expect(config.groups.map((g) => g.name)).toEqual(['a', 'b', 'c', 'd']);
    // The included file's key merged into [program:a] of the main file.
    expect(config.groups[0]?.priority).toBe(1);
    expect(config.groups.find((g) => g.name === 'c')?.processes[0]?.argv[1]).toBe(path.join(dir, 'etc/conf.d'));
  });

  it('follows only the main file\'s [include], as supervisord does', async () => {
    const dir = dirWith({
      'main.conf': `${SUPERVISORD}[include]\nfiles=one.conf\n`,
      'one.conf': '[program:one]\ncommand=x\n[include]\nfiles=two.conf\n',
      'two.conf': '[program:two]\ncommand=x\n',
    });
    const config = await loadConfig(path.join(dir, 'main.conf'), { env: ENV });
    expect(config.groups.map((g) => g.name)).toEqual(['one']);
  });

  it('warns when a pattern matches nothing', async () => {
    const config = await load(`${SUPERVISORD}[include]\nfiles=nothere/*.conf\n`);
    expect(config.warnings).toHaveLength(1);
    expect(config.warnings[0]).toMatch(/^No file matches via include ".*\/nothere\/\*\.conf"$/u);
  });

  it('requires files=', async () => {
    const error = await loadError(`${SUPERVISORD}[include]\n`);
    expect(error.message).toBe('.ini file has [include] section, but no files setting');
  });

  it('names the included file in errors from its sections', async () => {
    const dir = dirWith({
      'main.conf': `${SUPERVISORD}[include]\nfiles=bad.conf\n`,
      'bad.conf': '[program:z]\ncommand=x\nstartsecs=no\n',
    });
    const error = await loadConfig(path.join(dir, 'main.conf'), { env: ENV }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe(
      `invalid literal for int() with base 10: 'no' in section 'program:z' (file: '${path.join(dir, 'bad.conf')}')\n` +
        `  (at ${path.join(dir, 'bad.conf')} line 3 [program:z], key 'startsecs')`,
    );
  });

  it('reports syntax errors of an included file', async () => {
    const dir = dirWith({ 'main.conf': `${SUPERVISORD}[include]\nfiles=*.inc\n`, 'x.inc': '[program:z]\nbroken\n' });
    const error = await loadConfig(path.join(dir, 'main.conf'), { env: ENV }).catch((e: unknown) => e);
    expect((error as ConfigError).message).toBe(
      `Source contains parsing errors: '${path.join(dir, 'x.inc')}'\n\t[line  2]: 'broken\\n'`,
    );
  });

  it('supports absolute patterns and [abc] classes', async () => {
    const dir = dirWith({ 'p1.conf': '[program:p1]\ncommand=x\n', 'p2.conf': '[program:p2]\ncommand=x\n', 'p3.conf': '' });
    const config = await load(`${SUPERVISORD}[include]\nfiles=${dir}/p[12].conf\n`);
    expect(config.groups.map((g) => g.name)).toEqual(['p1', 'p2']);
  });
});

describe('loadConfig: groups and order', () => {
  it('orders groups by priority then name, processes likewise', async () => {
    const config = await load(
      `${SUPERVISORD}[program:zeta]\ncommand=x\npriority=1\n[program:beta]\ncommand=x\n[program:alpha]\ncommand=x\n[program:late]\ncommand=x\npriority=1000\n`,
    );
    expect(config.groups.map((g) => [g.name, g.priority])).toEqual([
      ['zeta', 1],
      ['alpha', 999],
      ['beta', 999],
      ['late', 1000],
    ]);
  });

  it('moves programs listed in [group:x] into that group', async () => {
    const config = await load(
      `${SUPERVISORD}[group:web]\nprograms=api,worker\npriority=5\n[program:api]\ncommand=x\npriority=20\n[program:worker]\ncommand=y %(group_name)s\npriority=10\n[program:solo]\ncommand=z\n`,
    );
    expect(config.groups.map((g) => g.name)).toEqual(['web', 'solo']);
    const web = config.groups[0];
    expect(web?.priority).toBe(5);
    expect(web?.processes.map((p) => [p.name, p.group, p.priority])).toEqual([
      ['worker', 'web', 10],
      ['api', 'web', 20],
    ]);
    expect(web?.processes[0]?.argv).toEqual(['y', 'web']);
  });

  it('rejects an unknown member, naming the group (supervisord names the previous member)', async () => {
    const error = await loadError(`${SUPERVISORD}[program:a]\ncommand=x\n[group:g]\nprograms=a,zz\n`);
    expect(error.message.split('\n')[0]).toBe('[group:g] names unknown program or fcgi-program zz');
  });

  it('rejects bad group names and priorities', async () => {
    expect((await loadError(`${SUPERVISORD}[group:g h]\nprograms=\n`)).message).toBe(
      "Invalid name: 'g h' because of character: ' '",
    );
    expect((await loadError(`${SUPERVISORD}[program:a]\ncommand=x\n[group:g]\nprograms=a\npriority=x\n`)).message.split('\n')[0]).toBe(
      "invalid literal for int() with base 10: 'x'",
    );
  });

  it('ignores unknown sections and keys, warns about fcgi programs', async () => {
    const config = await load(
      `${SUPERVISORD}[foo]\nx=1\n[programx:b]\ncommand=x\n[program:a]\ncommand=x\nbogus_key=1\n[eventlistener:l]\ncommand=x\nevents=PROCESS_STATE\n[fcgi-program:f]\ncommand=x\nsocket=tcp://localhost:9002\n`,
    );
    expect(config.groups.map((g) => g.name)).toEqual(['l', 'a']);
    expect(config.warnings).toEqual(['[fcgi-program:f] ignored: FastCGI programs are not supported by this supervisord']);
  });

  it('reads [eventlistener:x] as a pool: priority -1, buffer_size, events upper-cased, program keys', async () => {
    const config = await load(
      `${SUPERVISORD}[program:a]\ncommand=x\nstdout_events_enabled=true\nstderr_capture_maxbytes=1KB\n` +
        `[eventlistener:l]\ncommand=listen --x\nevents=process_state, TICK_5,PROCESS_STATE\nbuffer_size=50\nnumprocs=2\nprocess_name=l%(process_num)d\nstdout_capture_maxbytes=1MB\n`,
    );
    const [listeners, programs] = config.groups;
    expect(listeners?.name).toBe('l');
    expect(listeners?.priority).toBe(-1);
    expect(listeners?.eventListener).toEqual({
      bufferSize: 50,
      events: ['PROCESS_STATE', 'TICK_5'],
      backpressure: { holdBytes: 1024 * 1024, resumeBytes: 256 * 1024, maxBytes: 4 * 1024 * 1024, stallMs: 10_000 },
    });
    expect(listeners?.processes.map((p) => [p.name, p.eventListener, p.argv])).toEqual([
      ['l0', true, ['listen', '--x']],
      ['l1', true, ['listen', '--x']],
    ]);
    expect(programs?.eventListener).toBeUndefined();
    expect(programs?.processes[0]).toMatchObject({ stdoutEventsEnabled: true, stderrCaptureMaxBytes: 1024 });
    expect(programs?.processes[0]?.eventListener).toBeUndefined();
  });

  it("reads a pool's backpressure keys (ours; supervisord ignores them) with sizes and seconds", async () => {
    const config = await load(
      `${SUPERVISORD}[eventlistener:l]\ncommand=x\nevents=PROCESS_LOG\nbackpressure_holdbytes=2MB\nbackpressure_releasebytes=512KB\nbuffer_maxbytes=16MB\nbackpressure_stallsecs=30\n`,
    );
    expect(config.groups[0]?.eventListener?.backpressure).toEqual({ holdBytes: 2 * 1024 * 1024, resumeBytes: 512 * 1024, maxBytes: 16 * 1024 * 1024, stallMs: 30_000 });
  });

  it.each([
    ['backpressure_holdbytes=lots', 'backpressure_holdbytes', "invalid literal for int() with base 10: 'lots'"],
    ['backpressure_holdbytes=0', 'backpressure_holdbytes', 'invalid backpressure_holdbytes (0): must be at least 1 byte'],
    ['backpressure_releasebytes=1MB', 'backpressure_releasebytes', 'invalid backpressure_releasebytes (1048576): must be at least 0 and below backpressure_holdbytes (1048576)'],
    ['buffer_maxbytes=512KB', 'buffer_maxbytes', 'invalid buffer_maxbytes (524288): must be at least backpressure_holdbytes (1048576)'],
    ['backpressure_stallsecs=0', 'backpressure_stallsecs', 'invalid backpressure_stallsecs (0): must be at least 1 second'],
  ])('refuses %s, naming the key', async (line, key, message) => {
    const error = await load(`${SUPERVISORD}[eventlistener:l]\ncommand=x\nevents=PROCESS_LOG\n${line}\n`).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(String(error)).toContain(message);
    expect(String(error)).toContain(key);
    expect(String(error)).toContain('[eventlistener:l]');
  });
});

describe('loadConfig: [supervisord] and servers', () => {
  it('gives [supervisord] its defaults', async () => {
    const dir = dirWith({ 'x.conf': '[supervisord]\n' });
    const config = await loadConfig(path.join(dir, 'x.conf'), { env: { TMPDIR: dir }, cwd: dir });
    expect(config.supervisord).toEqual({
      logfile: path.join(dir, 'supervisord.log'),
      logfileMaxBytes: 50 * 1024 * 1024,
      logfileBackups: 10,
      loglevel: 'info',
      pidfile: path.join(dir, 'supervisord.pid'),
      nodaemon: false,
      silent: false,
      childlogdir: dir,
      minfds: 1024,
      minprocs: 200,
      nocleanup: false,
      umask: 0o22,
      user: null,
      directory: null,
      environment: {},
      identifier: 'supervisor',
      stripAnsi: false,
    });
    expect(config.unixHttpServer).toBeNull();
    expect(config.inetHttpServer).toBeNull();
    expect(config.supervisorctl).toBeNull();
    expect(config.rpcInterfaceEnabled).toBe(false);
    expect(config.groups).toEqual([]);
  });

  it('reads every [supervisord] key', async () => {
    const config = await load(
      '[supervisord]\nlogfile=NONE\nlogfile_maxbytes=1MB\nlogfile_backups=2\nloglevel=DEBUG\npidfile=DIR/p.pid\nnodaemon=true\nsilent=true\nchildlogdir=/tmp\nminfds=2048\nminprocs=300\nnocleanup=true\numask=077\nuser=root\ndirectory=/tmp\nidentifier=box\nstrip_ansi=yes\nenvironment=A=1\n',
    );
    expect(config.supervisord).toMatchObject({
      logfile: null,
      logfileMaxBytes: 1024 * 1024,
      logfileBackups: 2,
      loglevel: 'debug',
      nodaemon: true,
      silent: true,
      childlogdir: '/tmp',
      minfds: 2048,
      minprocs: 300,
      nocleanup: true,
      umask: 0o77,
      user: 'root',
      directory: '/tmp',
      identifier: 'box',
      stripAnsi: true,
      environment: { A: '1' },
    });
  });

  it.each([
    ['minfds=x', "invalid literal for int() with base 10: 'x'"],
    ['minprocs=x', "invalid literal for int() with base 10: 'x'"],
    ['directory=/nonexistent', '/nonexistent is not an existing directory'],
    ['umask=8', '8 can not be converted to an octal type'],
    ['logfile=/nonexistent/sd.log', 'The directory named as part of the path /nonexistent/sd.log does not exist'],
    ['logfile_maxbytes=1XB', "invalid literal for int() with base 10: '1xb'"],
    ['logfile_backups=x', "invalid literal for int() with base 10: 'x'"],
    ['loglevel=loud', "bad logging level name 'loud'"],
    ['pidfile=/nonexistent/sd.pid', 'The directory named as part of the path /nonexistent/sd.pid does not exist'],
    ['nodaemon=maybe', "not a valid boolean value: 'maybe'"],
    ['silent=maybe', "not a valid boolean value: 'maybe'"],
    ['childlogdir=/nonexistent', '/nonexistent is not an existing directory'],
    ['nocleanup=maybe', "not a valid boolean value: 'maybe'"],
    ['strip_ansi=maybe', "not a valid boolean value: 'maybe'"],
    ['environment=A', "Unexpected end of key/value pairs in value 'A'"],
    ['environment=H=100%%', "Format string 'H=100%' for 'environment' is badly formatted: incomplete format"],
    ['user=nosuchuser', 'Invalid user name nosuchuser'],
  ])('[supervisord] %s', async (line, message) => {
    const error = await loadError(`[supervisord]\nlogfile=DIR/sd.log\n${line}\n`);
    expect(error.message.split('\n')[0]).toBe(message);
  });

  it('accepts logfile=syslog with a warning that it goes nowhere', async () => {
    const config = await load('[supervisord]\nlogfile=syslog\nchildlogdir=DIR\n');
    expect(config.supervisord.logfile).toBeNull();
    expect(config.warnings[0]).toMatch(/syslog is not supported/u);
  });

  it('requires [supervisord]', async () => {
    expect((await loadError('[program:a]\ncommand=x\n')).message).toBe('.ini file does not include supervisord section');
  });

  it('reads the servers, supervisorctl and the rpc interface', async () => {
    const config = await load(
      `${SUPERVISORD}[unix_http_server]\nfile=%(here)s/s.sock\nchmod=0770\nchown=root:root\nusername=u\npassword={SHA}abc\n[inet_http_server]\nport=*:9001\n[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface\n[supervisorctl]\nserverurl=unix://%(here)s/s.sock\nprompt=box\nusername=u\npassword=p\nhistory_file=~/.hist\n[program:a]\ncommand=x\n`,
    );
    expect(config.unixHttpServer).toMatchObject({
      chmod: 0o770,
      chown: { user: 'root', group: 'root' },
      auth: { username: 'u', password: '{SHA}abc' },
    });
    const socket = config.unixHttpServer?.file ?? '';
    expect(socket).toMatch(/\/s\.sock$/u);
    expect(config.inetHttpServer).toEqual({ host: '', port: 9001, auth: null });
    expect(config.rpcInterfaceEnabled).toBe(true);
    expect(config.supervisorctl).toEqual({
      serverurl: `unix://${socket}`,
      username: 'u',
      password: 'p',
      prompt: 'box',
      historyFile: '/home/tester/.hist',
    });
    // serverurl=AUTO prefers the unix socket.
    expect(config.groups[0]?.processes[0]?.serverurl).toBe(`unix://${socket}`);
  });

  it('computes serverurl AUTO from the inet server when there is no socket; keeps an explicit one', async () => {
    const config = await load(
      `${SUPERVISORD}[inet_http_server]\nport=127.0.0.1:9011\n[program:a]\ncommand=x\n[program:b]\ncommand=x\nserverurl=http://other:1\n[program:c]\ncommand=x\nserverurl=auto\n`,
    );
    expect(config.groups.map((g) => g.processes[0]?.serverurl)).toEqual([
      'http://127.0.0.1:9011',
      'http://other:1',
      'http://127.0.0.1:9011',
    ]);
    const all = await load(`${SUPERVISORD}[inet_http_server]\nport=9011\n[program:a]\ncommand=x\n`);
    expect(all.groups[0]?.processes[0]?.serverurl).toBe('http://localhost:9011');
  });

  it.each([
    ['[unix_http_server]\nchmod=0700', 'section [unix_http_server] has no file value'],
    [
      '[unix_http_server]\nfile=DIR/s.sock\nusername=u',
      'Section [unix_http_server] contains incomplete authentication: If a username or a password is specified, both the username and password must be specified',
    ],
    ['[unix_http_server]\nfile=DIR/s.sock\nchown=nosuch', 'Invalid sockchown value nosuch'],
    ['[unix_http_server]\nfile=DIR/s.sock\nchown=root:nosuch', 'Invalid sockchown value root:nosuch'],
    ['[unix_http_server]\nfile=DIR/s.sock\nchmod=99', 'Invalid chmod value 99'],
    ['[inet_http_server]\nport=abc', "not a valid port number: 'abc' "],
    ['[inet_http_server]\nport=:0', '0 is below lower bound (1)'],
    ['[inet_http_server]\nusername=a\npassword=b', 'section [inet_http_server] has no port value'],
    ['[rpcinterface:supervisor]\nfoo=1', 'section [rpcinterface:supervisor] does not specify a supervisor.rpcinterface_factory'],
    ['[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = nope.x:y', 'nope.x:y cannot be resolved within [rpcinterface:supervisor]'],
  ])('%s', async (section, message) => {
    const error = await loadError(`${SUPERVISORD}${section}\n`);
    expect(error.message.split('\n')[0]).toBe(message);
  });

  it('starts even when [supervisorctl] is unusable (supervisord ignores it), with a warning', async () => {
    const config = await load(`${SUPERVISORD}[supervisorctl]\nprompt=%(nope)s\n`);
    expect(config.supervisorctl).toBeNull();
    expect(config.warnings[0]).toMatch(/^\[supervisorctl\] section not usable: Format string '%\(nope\)s'/u);
  });
});

describe('loadConfig: files', () => {
  it('reports a missing file as supervisord does', async () => {
    const error = await loadConfig('/etc/supervisor/nonexist.conf').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toBe('could not find config file /etc/supervisor/nonexist.conf');
  });

  it('reports syntax errors with the file as given and the line', async () => {
    const dir = dirWith({ 'parseerr.conf': `${SUPERVISORD}[program:a]\ncommand=x\nnot a section line\n` });
    const error = await loadConfig('parseerr.conf', { cwd: dir }).catch((e: unknown) => e);
    expect((error as ConfigError).message).toBe(
      "Source contains parsing errors: 'parseerr.conf'\n\t[line  7]: 'not a section line\\n'",
    );
    expect((error as ConfigError).location.line).toBe(7);
  });

  it('returns the absolute main file', async () => {
    const dir = dirWith({ 'x.conf': SUPERVISORD });
    const config = await loadConfig('x.conf', { cwd: dir });
    expect(config.file).toBe(path.join(dir, 'x.conf'));
  });
});

describe('sameProcessConfig', () => {
  it('treats two loads of one file as equal despite random AUTO log names, and notices changes', async () => {
    const dir = dirWith({ 'x.conf': `${SUPERVISORD}[program:a]\ncommand=x\n` });
    const first = (await loadConfig(path.join(dir, 'x.conf'))).groups[0]?.processes[0];
    const second = (await loadConfig(path.join(dir, 'x.conf'))).groups[0]?.processes[0];
    if (first === undefined || second === undefined) throw new Error('no process');
    expect(first.stdout).not.toEqual(second.stdout);
    expect(sameProcessConfig(first, second)).toBe(true);
    expect(sameProcessConfig(first, { ...second, startsecs: 5 })).toBe(false);
  });
});
