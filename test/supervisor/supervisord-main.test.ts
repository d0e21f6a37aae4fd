// `node dist/supervisord.js` as a real process: command line, config errors, pidfile, and the
// signals TERM (ordered stop, exit 0), HUP (restart with the re-read config) and USR2 (reopen logs).
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { pidFromFile } from '../support/processes.js';
import { distProgram } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { launcher, tempDir, tempDirForFile, type Launched } from './fixtures.js';

const tmp = tempDirForFile('main');
const launch = launcher();

function supervisord(args: string[], cwd?: string): Launched {
  return launch(process.execPath, [distProgram('supervisord'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd });
}

/** Until `pid` is gone (a daemon is not our child: no exit event). */
function waitForExit(pid: number): Promise<boolean> {
  return waitFor(`process ${pid} to exit`, () => {
    try {
      process.kill(pid, 0);
      return false;
    } catch {
      return true;
    }
  });
}

function mainLog(): string {
  const file = tmp.file('main.log');
  return existsSync(file) ? readFileSync(file, 'utf8') : '';
}

function writeConfig(name: string, programs: string, extra = ''): string {
  return tmp.supervisordConf(name, programs, `pidfile=%(here)s/supervisord.pid\n${extra}`);
}

describe('command line', () => {
  it('-v prints the version, -h the usage, both exit 0', async () => {
    const version = supervisord(['-v']);
    expect(await version.exited).toBe(0);
    expect(version.stdout()).toMatch(/^4\.2\.5-compatible/);
    const help = supervisord(['-h']);
    expect(await help.exited).toBe(0);
    expect(help.stdout()).toContain('-c/--configuration FILENAME');
  });

  it('a bad option or a positional argument is exit 2 with supervisord\'s message', async () => {
    const bogus = supervisord(['--bogus']);
    expect(await bogus.exited).toBe(2);
    expect(bogus.stderr()).toMatch(/^Error: option --bogus not recognized\nFor help, use .*supervisord\.js -h\n$/);
    const extra = supervisord(['-c', tmp.file('x.conf'), 'extra']);
    expect(await extra.exited).toBe(2);
    expect(extra.stderr()).toMatch(/^Error: positional arguments are not supported: \['extra'\]/);
  });

  it('a config error exits 2 before any child starts', async () => {
    const marker = tmp.file('started.marker');
    const file = writeConfig(
      'bad.conf',
      `[program:good]
command=touch ${marker}

[program:bad]
command=sleep 1
startsecs=abc
`,
      'nodaemon=true',
    );
    const run = supervisord(['-c', file]);
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(/^Error: invalid literal for int\(\) with base 10: 'abc' in section 'program:bad'/);
    expect(run.stderr()).toMatch(/For help, use .* -h\n$/);
    expect(existsSync(marker)).toBe(false);
    const missing = supervisord(['-c', tmp.file('nope.conf')]);
    expect(await missing.exited).toBe(2);
    expect(missing.stderr()).toContain('Error: could not find config file');
  });
});

describe('daemon mode and AUTO logs', () => {
  it('without -n it goes to the background, writes the pidfile and cleans up old AUTO logs', async () => {
    const stale = tmp.file('old-stdout---supervisor-abcd1234.log');
    const foreign = tmp.file('old-stdout---otherid-abcd1234.log');
    writeFileSync(stale, 'old');
    writeFileSync(foreign, 'not ours');
    writeFileSync(tmp.file('main.log'), '');
    const file = writeConfig('daemon.conf', `[program:bg]\ncommand=sleep 100\nstartsecs=0\n`);
    const run = supervisord(['-c', file]);
    expect(await run.exited).toBe(0);
    const daemonPid = await waitFor('the pidfile', () => pidFromFile(tmp.file('supervisord.pid')));
    try {
      expect(daemonPid).not.toBe(run.child.pid);
      await waitFor('bg RUNNING', () => /success: bg /.test(mainLog()));
      expect(mainLog()).toContain('INFO daemonizing the supervisord process');
      expect(existsSync(stale)).toBe(false);
      expect(existsSync(foreign)).toBe(true);
      const auto = readdirSync(tmp.dir).filter((name) => /^bg-stdout---supervisor-\w+\.log$/.test(name));
      expect(auto).toHaveLength(1);
    } finally {
      process.kill(daemonPid, 'SIGTERM');
    }
    await waitForExit(daemonPid);
    expect(mainLog()).toContain('stopped: bg (terminated by SIGTERM)');
  });
});

describe('daemon mode: errors before it is up', () => {
  it('a port in use or a main log that cannot be opened: the error on stderr and a non-zero exit, as supervisord (it was 0 and silent)', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    try {
      const port = (blocker.address() as net.AddressInfo).port;
      const taken = writeConfig('taken.conf', `[inet_http_server]\nport=127.0.0.1:${port}\n\n[program:p]\ncommand=sleep 100\n`);
      const run = supervisord(['-c', taken]);
      expect(await run.exited).toBe(2);
      expect(run.stderr()).toMatch(/Another program is already listening on a port that one of our HTTP servers is configured to use/);
      expect(existsSync(tmp.file('supervisord.pid'))).toBe(false);
    } finally {
      blocker.close();
    }
    const noLog = tmp.file('nolog.conf');
    writeFileSync(noLog, '[supervisord]\nlogfile=/proc/no-such-dir/main.log\npidfile=%(here)s/nolog.pid\nchildlogdir=%(here)s\n\n[program:p]\ncommand=sleep 100\n');
    const run = supervisord(['-c', noLog]);
    expect(await run.exited).not.toBe(0);
    expect(run.stderr()).toMatch(/\/proc\/no-such-dir\/main\.log/);
  });

  it('the programs of a daemon do not inherit the variable that marks its background copy', async () => {
    const out = tmp.file('env-of-child.txt');
    const file = writeConfig('envcheck.conf', `[program:env]\ncommand=sh -c 'env > ${out}; exec sleep 100'\nstartsecs=0\n`);
    const run = supervisord(['-c', file]);
    expect(await run.exited).toBe(0);
    const daemonPid = await waitFor('the pidfile', () => pidFromFile(tmp.file('supervisord.pid')));
    try {
      const env = await waitFor('the program to write its environment', () => (existsSync(out) && readFileSync(out, 'utf8').includes('PATH=') ? readFileSync(out, 'utf8') : undefined));
      expect(env).not.toMatch(/SUPERVISORD_DAEMON_CHILD|NODE_CHANNEL_FD/);
      expect(env).toMatch(/^SUPERVISOR_PROCESS_NAME=env$/m);
    } finally {
      process.kill(daemonPid, 'SIGTERM');
    }
    await waitForExit(daemonPid);
  });
});

describe('command-line values over the config file', () => {
  it('clusters and prefixes (`-ns --config=FILE --pidf=X`) and -q/-i reach the run: AUTO logs named from them', async () => {
    const childlogs = tempDir('childlogs');
    try {
      const file = writeConfig('cli.conf', `[program:auto]\ncommand=sleep 100\nstartsecs=0\n`);
      const pidfile = tmp.file('from-cli.pid');
      const run = supervisord(['-ns', `--config=${file}`, `--pidf=${pidfile}`, '-q', childlogs.dir, '--ident', 'cliid']);
      await waitFor('auto RUNNING', () => /success: auto /.test(mainLog()));
      expect(readFileSync(pidfile, 'utf8')).toBe(`${run.child.pid}\n`);
      expect(readdirSync(childlogs.dir).filter((name) => /^auto-stdout---cliid-\w+\.log$/.test(name))).toHaveLength(1);
      run.child.kill('SIGTERM');
      expect(await run.exited).toBe(0);
      // -s: nothing of the main log on stdout, though -n runs in the foreground.
      expect(run.stdout()).toBe('');
      expect(existsSync(pidfile)).toBe(false);
    } finally {
      childlogs.remove();
    }
  });
});

describe('config file search', () => {
  it('without -c, finds ./supervisord.conf in the working directory', async () => {
    const dir = tempDir('search');
    try {
      writeFileSync(
        dir.file('supervisord.conf'),
        `[supervisord]\nlogfile=%(here)s/main.log\npidfile=%(here)s/sd.pid\nchildlogdir=%(here)s\nnodaemon=true\nsilent=true\n\n[program:found]\ncommand=sleep 100\nstartsecs=0\n`,
      );
      // supervisord searches <argv[0]'s grandparent>/supervisord.conf before ./supervisord.conf, and the
      // checkout's root has one (for supervisorctl): run the program from a path outside the checkout.
      const elsewhere = tempDir('search-bin');
      mkdirSync(elsewhere.file('bin'));
      symlinkSync(distProgram('supervisord'), elsewhere.file('bin/supervisord.js'));
      const run = launch(process.execPath, [elsewhere.file('bin/supervisord.js')], { stdio: ['ignore', 'pipe', 'pipe'], cwd: dir.dir });
      await waitFor('the program from the default config', () => existsSync(dir.file('main.log')) && /success: found/.test(readFileSync(dir.file('main.log'), 'utf8')));
      run.child.kill('SIGINT');
      expect(await run.exited).toBe(0);
      expect(readFileSync(dir.file('main.log'), 'utf8')).toContain('WARN received SIGINT indicating exit request');
      elsewhere.remove();
    } finally {
      dir.remove();
    }
  });
});

describe('signals', () => {
  it('SIGHUP with a config that no longer parses: exit 2 with the error, as supervisord', async () => {
    const file = writeConfig('broken-later.conf', `[program:p]\ncommand=sleep 100\nstartsecs=0\n`, 'nodaemon=true\nsilent=true');
    writeFileSync(tmp.file('main.log'), '');
    const run = supervisord(['-c', file]);
    await waitFor('p RUNNING', () => /success: p /.test(mainLog()));
    writeConfig('broken-later.conf', `[program:p]\ncommand=sleep 100\nstartsecs=soon\n`, 'nodaemon=true\nsilent=true');
    run.child.kill('SIGHUP');
    expect(await run.exited).toBe(2);
    expect(run.stderr()).toMatch(/^Error: invalid literal for int\(\) with base 10: 'soon'/);
    expect(mainLog()).toContain('stopped: p (terminated by SIGTERM)');
  });

  it('SIGTERM stops the programs in reverse priority order and exits 0; the pidfile comes and goes', async () => {
    const file = writeConfig(
      'term.conf',
      `[program:first]
command=sleep 100
priority=1
startsecs=0

[program:second]
command=sleep 100
priority=2
startsecs=0
`,
    );
    const run = supervisord(['-n', '-c', file]);
    await waitFor('both RUNNING', () => /success: second/.test(mainLog()) && /success: first/.test(mainLog()));
    expect(readFileSync(tmp.file('supervisord.pid'), 'utf8')).toBe(`${run.child.pid}\n`);
    expect(mainLog()).toContain(`INFO supervisord started with pid ${run.child.pid}`);
    // -n: the main log is on stdout too.
    expect(run.stdout()).toContain("spawned: 'first'");
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    const log = mainLog();
    expect(log).toContain('WARN received SIGTERM indicating exit request');
    expect(log.indexOf('stopped: second')).toBeGreaterThan(-1);
    expect(log.indexOf('stopped: second')).toBeLessThan(log.indexOf('stopped: first'));
    expect(existsSync(tmp.file('supervisord.pid'))).toBe(false);
  });

  it('SIGHUP restarts with the re-read config, same pid; SIGUSR2 reopens the logs', async () => {
    const file = writeConfig(
      'hup.conf',
      `[program:ticker]
command=sh -c 'while :; do echo tick; sleep 0.05; done'
startsecs=0
stdout_logfile=%(here)s/ticker.log
`,
      'nodaemon=true\nsilent=true',
    );
    writeFileSync(tmp.file('main.log'), '');
    const run = supervisord(['-c', file]);
    await waitFor('ticker RUNNING', () => /success: ticker/.test(mainLog()));
    expect(run.stdout()).toBe(''); // silent

    // USR2 after logrotate-style renames: both the main log and the child log are opened again by name.
    await waitFor('ticks', () => existsSync(tmp.file('ticker.log')) && readFileSync(tmp.file('ticker.log'), 'utf8').length > 0);
    renameSync(tmp.file('ticker.log'), tmp.file('ticker.log.old'));
    renameSync(tmp.file('main.log'), tmp.file('main.log.old'));
    run.child.kill('SIGUSR2');
    await waitFor('a new ticker.log', () => existsSync(tmp.file('ticker.log')) && readFileSync(tmp.file('ticker.log'), 'utf8').startsWith('tick'));
    expect(readFileSync(tmp.file('main.log.old'), 'utf8')).toContain('INFO received SIGUSR2 indicating log reopen request');

    writeConfig(
      'hup.conf',
      `[program:ticker]
command=sh -c 'while :; do echo tick; sleep 0.05; done'
startsecs=0
stdout_logfile=%(here)s/ticker.log

[program:added]
command=sleep 100
startsecs=0
`,
      'nodaemon=true\nsilent=true',
    );
    run.child.kill('SIGHUP');
    await waitFor('the added program after restart', () => /success: added/.test(mainLog()));
    const log = mainLog();
    expect(log).toContain('WARN received SIGHUP indicating restart request');
    expect(log).toContain('stopped: ticker (terminated by SIGTERM)');
    expect(log.match(/supervisord started with pid (\d+)/g)).toEqual([`supervisord started with pid ${run.child.pid}`]);
    expect(log.indexOf('stopped: ticker')).toBeLessThan(log.indexOf(`supervisord started with pid`));
    run.child.kill('SIGTERM');
    expect(await run.exited).toBe(0);
  });
});
