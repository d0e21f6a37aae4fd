// supervisorctl's command line (getopt rules) and [supervisorctl] config reading: pure logic,
// plus real files in a temp dir.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCommandLine, parseLine, parseServerUrl, readCtlConfig, resolveOptions, UsageError } from '../../../src/supervisor/ctl/index.js';
import { distProgram } from '../../support/programs.js';

describe('parseCommandLine', () => {
  it('stops at the first action word, so later dashes belong to the action', () => {
    expect(parseCommandLine(['-c', 'x.conf', 'tail', '-f', 'api'])).toEqual({ values: { configFile: 'x.conf' }, args: ['tail', '-f', 'api'] });
  });

  it('takes joined and separate values, long options and their unique prefixes', () => {
    expect(parseCommandLine(['-cx.conf', '--serverurl=unix:///s', '--user', 'u', '-ppw', 'status']).values).toEqual({
      configFile: 'x.conf',
      serverurl: 'unix:///s',
      username: 'u',
      password: 'pw',
    });
    expect(parseCommandLine(['-i', '-h']).values).toEqual({ interactive: true, help: true });
  });

  it.each([
    [['--bogus'], 'option --bogus not recognized'],
    [['-x'], 'option -x not recognized'],
    [['-c'], 'option -c requires argument'],
    [['-c', 'a', '-c', 'b'], "conflicting command line option '-c'"],
    [['-s', 'nonsense'], "invalid value for -s 'nonsense': value 'nonsense' is not a URL"],
  ])('%j → %s', (argv, message) => {
    expect(() => parseCommandLine(argv)).toThrow(new UsageError(message));
  });
});

describe('parseLine (cmd.Cmd rules)', () => {
  it.each([
    ['status all', { command: 'status', arg: 'all' }],
    ['  stop   a  ', { command: 'stop', arg: 'a' }],
    ['?start', { command: 'help', arg: 'start' }],
    ['-x', { command: '', arg: '-x' }],
    ['', null],
  ])('%j', (line, expected) => {
    expect(parseLine(line)).toEqual(expected);
  });
});

describe('parseServerUrl', () => {
  it('reads unix:// paths and http host:port', () => {
    expect(parseServerUrl('unix:///var/run/x.sock')).toEqual({ kind: 'unix', path: '/var/run/x.sock' });
    expect(parseServerUrl('http://127.0.0.1:9001')).toEqual({ kind: 'http', host: '127.0.0.1', port: 9001 });
    expect(parseServerUrl('http://localhost')).toEqual({ kind: 'http', host: 'localhost', port: 80 });
  });

  it('gives an IPv6 host without its URL brackets, as Python\'s urlparse does', () => {
    expect(parseServerUrl('http://[::1]:9001')).toEqual({ kind: 'http', host: '::1', port: 9001 });
    expect(parseServerUrl('http://[2001:db8::1]')).toEqual({ kind: 'http', host: '2001:db8::1', port: 80 });
  });

  it("refuses what Python's client refuses, with its ValueError's words", () => {
    expect(() => parseServerUrl('bogus://x')).toThrow(/^Unknown protocol for serverurl bogus:\/\/x$/);
    expect(() => parseServerUrl('https://127.0.0.1:9001')).toThrow(/^Unknown protocol for serverurl https:\/\/127\.0\.0\.1:9001$/);
    expect(() => parseServerUrl('http://127.0.0.1:abc')).toThrow(/^Port could not be cast to integer value as 'abc'$/);
    expect(() => parseServerUrl('http://127.0.0.1:99999')).toThrow(/^Port out of range 0-65535$/);
    expect(parseServerUrl('http://user:secret@LocalHost:9001/RPC2')).toEqual({ kind: 'http', host: 'localhost', port: 9001 });
  });
});

describe('[supervisorctl] from a config file', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'ctl-options-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('expands %(here)s and %(ENV_X)s, strips inline comments, ignores every other section', async () => {
    const file = path.join(dir, 'a.conf');
    process.env.CTL_TEST_USER = 'ops';
    await writeFile(
      file,
      [
        '[program:x]',
        'command=%(ENV_NOT_SET_ANYWHERE)s',
        '[supervisorctl]',
        'serverurl = unix://%(here)s/run/sock ; the socket',
        'USERNAME: %(ENV_CTL_TEST_USER)s',
        'password=p;w',
        'prompt=box',
        '',
      ].join('\n'),
    );
    expect(readCtlConfig(file)).toEqual({
      serverurl: `unix://${dir}/run/sock`,
      username: 'ops',
      password: 'p;w',
      prompt: 'box',
      historyFile: null,
    });
  });

  it('without -c finds the file by supervisord\'s search list, next to the installation first', async () => {
    const install = path.join(dir, 'install');
    await mkdir(path.join(install, 'etc'), { recursive: true });
    await writeFile(path.join(install, 'etc', 'supervisord.conf'), '[supervisorctl]\nserverurl=unix:///from/install/etc\n');
    const options = resolveOptions(['status'], path.join(install, 'bin', 'supervisorctl'));
    expect(options.configFile).toBe(path.join(install, 'etc', 'supervisord.conf'));
    expect(options.serverurl).toBe('unix:///from/install/etc');
    await writeFile(path.join(install, 'supervisord.conf'), '[supervisorctl]\nserverurl=unix:///from/install\n');
    await rm(path.join(install, 'etc', 'supervisord.conf'));
    expect(resolveOptions(['status'], path.join(install, 'bin', 'supervisorctl')).serverurl).toBe('unix:///from/install');
  });

  it('defaults to http://localhost:9001 and refuses a file without the section', async () => {
    const empty = path.join(dir, 'empty.conf');
    await writeFile(empty, '[supervisorctl]\n');
    expect(readCtlConfig(empty).serverurl).toBe('http://localhost:9001');
    const none = path.join(dir, 'none.conf');
    await writeFile(none, '[supervisord]\n');
    expect(() => readCtlConfig(none)).toThrow('.ini file does not include supervisorctl section');
    expect(() => readCtlConfig(path.join(dir, 'missing.conf'))).toThrow(`could not find config file ${path.join(dir, 'missing.conf')}`);
  });

  it('reads the file with configparser rules: [DEFAULT] keys apply, errors are worded as the real client words them', async () => {
    const file = path.join(dir, 'dialect.conf');
    await writeFile(file, '[DEFAULT]\nprompt=from-default\n[supervisorctl]\nserverurl=unix:///s\n');
    expect(readCtlConfig(file).prompt).toBe('from-default');

    const badLine = path.join(dir, 'bad-line.conf');
    await writeFile(badLine, '[supervisorctl]\nserverurl=unix:///s\nbad line\n');
    expect(() => readCtlConfig(badLine)).toThrow(new UsageError(`Source contains parsing errors: '${badLine}'\n\t[line  3]: 'bad line\\n'`));

    const unknownName = path.join(dir, 'unknown-name.conf');
    await writeFile(unknownName, '[supervisorctl]\nusername=%(ENV_NOT_SET_ANYWHERE)s\n');
    expect(() => readCtlConfig(unknownName)).toThrow(
      /^Format string '%\(ENV_NOT_SET_ANYWHERE\)s' for 'supervisorctl.username' contains names \('ENV_NOT_SET_ANYWHERE'\) which cannot be expanded\. Available names: ENV_.*, here$/,
    );
  });

  it('lets -s/-u/-p override the file, and no action means the shell', async () => {
    const file = path.join(dir, 'b.conf');
    await writeFile(file, '[supervisorctl]\nserverurl=unix:///from/file\nusername=a\npassword=b\n');
    const options = resolveOptions(['-c', file, '-s', 'http://127.0.0.1:1', '-p', 'override'], '/usr/bin/supervisorctl');
    expect(options).toMatchObject({ serverurl: 'http://127.0.0.1:1', username: 'a', password: 'override', interactive: true, args: [] });
    expect(resolveOptions(['-c', file, 'status'], '/x/bin/supervisorctl').interactive).toBe(false);
  });
});

describe('shell history (-r)', () => {
  it('appends the lines typed in the shell to the history file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'ctl-history-'));
    try {
      const history = path.join(dir, 'history');
      await writeFile(history, 'earlier\n');
      const result = await execa(process.execPath, [distProgram('supervisorctl'), '-s', `unix://${dir}/nosock`, '-r', history], {
        input: 'version\n\nhelp quit\n',
        reject: false,
      });
      expect(result.exitCode).toBe(0);
      expect(result.stdout).toContain('supervisor> quit\tExit the supervisor shell.');
      expect(await readFile(history, 'utf8')).toBe('earlier\nversion\nhelp quit\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
