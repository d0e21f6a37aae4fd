// The same config files through the real supervisord (Debian's supervisor 4.2.5, Python) and
// through loadConfig. Bad files: supervisord's message must be ours, word for word, except where
// a difference is documented below. Good files: supervisord's own parser (its options module,
// run by the same Python) must read the same values as we do.

import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/supervisor/config/index.js';
import type { LogTarget, SupervisordConfig } from '../../../src/supervisor/types.js';
import { describeWithPeers, REAL_SUPERVISORD } from '../fixtures.js';

const PYTHON = '/usr/bin/python3';

// supervisord's own parser is run by the Python it is installed with.
const describeWithRealSupervisord = describeWithPeers([REAL_SUPERVISORD, PYTHON]);

// One environment for both, so `Available names: ENV_…` lists agree. LANG=C.UTF-8 keeps Python
// from adding LC_CTYPE to its environment (PEP 538 locale coercion).
const ENV = { PATH: '/usr/bin:/bin', HOME: '/root', LANG: 'C.UTF-8', FOO: 'bar', ON: 'yes' };

const HEADER = '[supervisord]\nlogfile=DIR/sd.log\npidfile=DIR/sd.pid\nchildlogdir=DIR\n';

interface Case {
  name: string;
  text: string;
  /** A documented difference: what we say instead of supervisord's message. */
  ours?: (real: string) => string;
}

const CASES: Case[] = [
  { name: 'missing command', text: `${HEADER}[program:a]\nautostart=true\n` },
  { name: 'bad program name', text: `${HEADER}[program:a b]\ncommand=x\n` },
  { name: 'bad boolean', text: `${HEADER}[program:a]\ncommand=x\nautostart=maybe\n` },
  { name: 'bad integer', text: `${HEADER}[program:a]\ncommand=x\nstartsecs=abc\n` },
  { name: 'inline ; without space', text: `${HEADER}[program:a]\ncommand=x\nstartsecs=3;x\n` },
  { name: 'empty integer', text: `${HEADER}[program:a]\ncommand=x\nstartretries=\n` },
  { name: 'bad priority', text: `${HEADER}[program:a]\ncommand=x\npriority=abc\n` },
  { name: 'bad autorestart', text: `${HEADER}[program:a]\ncommand=x\nautorestart=sometimes\n` },
  { name: 'numprocs without process_num', text: `${HEADER}[program:a]\ncommand=x\nnumprocs=2\n` },
  { name: 'bad stopsignal', text: `${HEADER}[program:a]\ncommand=x\nstopsignal=FOO\n` },
  { name: 'bad stopsignal number', text: `${HEADER}[program:a]\ncommand=x\nstopsignal=99\n` },
  { name: 'bad exitcodes', text: `${HEADER}[program:a]\ncommand=x\nexitcodes=0,256\n` },
  { name: 'bad byte size', text: `${HEADER}[program:a]\ncommand=x\nstdout_logfile_maxbytes=50XB\n` },
  { name: 'bad environment', text: `${HEADER}[program:a]\ncommand=x\nenvironment=A=1,B\n` },
  { name: 'environment with open quote', text: `${HEADER}[program:a]\ncommand=x\nenvironment=A="x\n` },
  { name: 'bad user', text: `${HEADER}[program:a]\ncommand=x\nuser=nosuchuser\n` },
  { name: 'bad umask', text: `${HEADER}[program:a]\ncommand=x\numask=9\n` },
  { name: 'log dir missing', text: `${HEADER}[program:a]\ncommand=x\nstdout_logfile=/nonexistent/x.log\n` },
  { name: 'stopasgroup without killasgroup', text: `${HEADER}[program:a]\ncommand=x\nstopasgroup=true\nkillasgroup=false\n` },
  { name: 'bad process_name', text: `${HEADER}[program:a]\ncommand=x\nprocess_name=a b\n` },
  { name: 'unknown expansion', text: `${HEADER}[program:a]\ncommand=sleep %(ENV_NOPE)s\n` },
  { name: 'process_num before numprocs', text: `${HEADER}[program:a]\ncommand=x\nstartsecs=%(process_num)d\n` },
  { name: 'program_name in the first priority read', text: `${HEADER}[program:a]\ncommand=x\npriority=%(program_name)s\n` },
  { name: 'lone %', text: `${HEADER}[program:a]\ncommand=sleep 100%\n` },
  { name: '%d of a string', text: `${HEADER}[program:a]\ncommand=x %(program_name)d\n` },
  { name: 'unsupported format character', text: `${HEADER}[program:a]\ncommand=x %z\n` },
  { name: 'incomplete format key', text: `${HEADER}[program:a]\ncommand=x %(program_name\n` },
  { name: 'logfile expanded twice', text: `${HEADER}[program:a]\ncommand=x\nstdout_logfile=DIR/x%%.log\n` },
  { name: 'no [supervisord]', text: '[program:a]\ncommand=x\n' },
  { name: 'syntax error', text: `${HEADER}[program:a]\ncommand=x\nnot a section line\n` },
  { name: 'no section header', text: `x=1\n${HEADER}` },
  { name: '[include] without files', text: `${HEADER}[include]\n` },
  { name: 'included file with a bad value', text: `${HEADER}[include]\nfiles=inc/*.conf\n`, },
  { name: 'unix server without file', text: `${HEADER}[unix_http_server]\nchmod=0700\n` },
  { name: 'incomplete auth', text: `${HEADER}[unix_http_server]\nfile=DIR/s.sock\nusername=u\n` },
  { name: 'bad chown', text: `${HEADER}[unix_http_server]\nfile=DIR/s.sock\nchown=nosuch\n` },
  { name: 'bad chmod', text: `${HEADER}[unix_http_server]\nfile=DIR/s.sock\nchmod=99\n` },
  { name: 'bad port', text: `${HEADER}[inet_http_server]\nport=abc\n` },
  { name: 'port 0', text: `${HEADER}[inet_http_server]\nport=:0\n` },
  { name: 'no port', text: `${HEADER}[inet_http_server]\nusername=a\npassword=b\n` },
  { name: 'first group member unknown', text: `${HEADER}[program:a]\ncommand=x\n[group:g]\nprograms=zz\n` },
  {
    name: 'later group member unknown',
    text: `${HEADER}[program:a]\ncommand=x\n[group:g]\nprograms=a,zz\n`,
    // supervisord names the previous member's section; we name the group.
    ours: (real) => real.replace('[program:a] names', '[group:g] names'),
  },
  { name: 'bad group name', text: `${HEADER}[group:g h]\nprograms=a\n` },
  { name: 'bad group priority', text: `${HEADER}[program:a]\ncommand=x\n[group:g]\nprograms=a\npriority=x\n` },
  { name: 'bad rpc factory', text: `${HEADER}[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = nope.x:y\n` },
  { name: 'rpc section without factory', text: `${HEADER}[rpcinterface:supervisor]\nfoo=1\n` },
  { name: '[supervisord] bad user', text: '[supervisord]\nlogfile=DIR/sd.log\npidfile=DIR/sd.pid\nuser=nosuchuser\n' },
  { name: '[supervisord] bad loglevel', text: '[supervisord]\nlogfile=DIR/sd.log\nloglevel=loud\n' },
  { name: '[supervisord] childlogdir missing', text: '[supervisord]\nlogfile=DIR/sd.log\nchildlogdir=/nonexistent\n' },
  { name: '[supervisord] directory missing', text: '[supervisord]\nlogfile=DIR/sd.log\ndirectory=/nonexistent\n' },
  { name: '[supervisord] logfile dir missing', text: '[supervisord]\nlogfile=/nonexistent/sd.log\n' },
  { name: '[supervisord] environment with host_node_name', text: `${HEADER}environment=H=%(host_node_name)s\n` },
  { name: '[supervisord] environment expanded twice', text: `${HEADER}environment=H=100%%\n` },
  { name: 'eventlistener without events', text: `${HEADER}[eventlistener:l]\ncommand=x\n` },
  { name: 'eventlistener with empty events', text: `${HEADER}[eventlistener:l]\ncommand=x\nevents=\n` },
  { name: 'eventlistener unknown event type', text: `${HEADER}[eventlistener:l]\ncommand=x\nevents=tick_5,nosuch\n` },
  { name: 'eventlistener redirect_stderr', text: `${HEADER}[eventlistener:l]\ncommand=x\nevents=TICK_5\nredirect_stderr=true\n` },
  { name: 'eventlistener buffer_size 0', text: `${HEADER}[eventlistener:l]\ncommand=x\nevents=TICK_5\nbuffer_size=0\n` },
  { name: 'eventlistener bad buffer_size', text: `${HEADER}[eventlistener:l]\ncommand=x\nevents=TICK_5\nbuffer_size=many\n` },
  { name: 'eventlistener bad result_handler', text: `${HEADER}[eventlistener:l]\ncommand=x\nevents=TICK_5\nresult_handler=nope.x:y\n` },
  { name: 'eventlistener without command', text: `${HEADER}[eventlistener:l]\nevents=TICK_5\n` },
  { name: 'eventlistener numprocs without process_num', text: `${HEADER}[eventlistener:l]\ncommand=x\nevents=EVENT\nnumprocs=2\n` },
];

/** Extra files some cases need, next to x.conf. */
const EXTRA_FILES: Record<string, Record<string, string>> = {
  'included file with a bad value': { 'inc/20-b.conf': '[program:b]\ncommand=x\nautostart=perhaps\n', 'inc/10-a.conf': '[program:a]\ncommand=x\n' },
};

interface RealResult {
  code: number | null;
  stderr: string;
}

/** Run the real supervisord in the foreground; a bad config makes it exit at once. */
function runReal(file: string): Promise<RealResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(REAL_SUPERVISORD, ['-n', '-c', file], { env: ENV, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    // A config it accepts would make it run: stop it, and the test fails on the exit code.
    const deadline = setTimeout(() => child.kill('SIGKILL'), 30_000);
    deadline.unref();
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stderr });
    });
  });
}

/** supervisord's message: stderr without `Error: ` and the `For help, use …` line. */
function realMessage(stderr: string): string {
  return stderr
    .replace(/^Error: /u, '')
    .replace(/\nFor help, use \S+ -h\n?$/u, '');
}

async function oursFor(file: string): Promise<string> {
  try {
    await loadConfig(file, { env: ENV });
  } catch (error) {
    if (error instanceof ConfigError) return error.supervisordMessage;
    throw error;
  }
  return '(accepted)';
}

describeWithRealSupervisord(
  'config errors: ours vs the real supervisord',
  () => {
    let root: string;
    const results = new Map<string, RealResult>();
    const files = new Map<string, string>();

    beforeAll(async () => {
      root = mkdtempSync(path.join(os.tmpdir(), 'config-vs-real-'));
      CASES.forEach((c, index) => {
        const dir = path.join(root, `c${index}`);
        mkdirSync(dir);
        for (const [name, text] of Object.entries(EXTRA_FILES[c.name] ?? {})) {
          mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
          writeFileSync(path.join(dir, name), text);
        }
        const file = path.join(dir, 'x.conf');
        writeFileSync(file, c.text.replaceAll('DIR', dir));
        files.set(c.name, file);
      });
      // Python start-up is ~0.25 s: a few at a time keeps the shared machine responsive.
      const queue = [...CASES];
      const worker = async (): Promise<void> => {
        for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
          results.set(c.name, await runReal(files.get(c.name) ?? ''));
        }
      };
      await Promise.all([worker(), worker(), worker()]);
    }, 120_000);

    afterAll(() => {
      if (root !== undefined) rmSync(root, { recursive: true, force: true });
    });

    it.each(CASES.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
      const real = results.get(c.name);
      const file = files.get(c.name) ?? '';
      expect(real?.code, `real supervisord should reject it; stderr: ${real?.stderr ?? ''}`).toBe(2);
      const expected = realMessage(real?.stderr ?? '');
      expect(expected).not.toBe('');
      const ours = await oursFor(file);
      expect(ours).toBe(c.ours === undefined ? expected : c.ours(expected));
    });
  },
);

// Prints what supervisord's own ServerOptions read from a file, as JSON.
const DUMP_SCRIPT = `
import json, sys
from supervisor.options import ServerOptions, signame
from supervisor.datatypes import Automatic, RestartUnconditionally, RestartWhenExitUnexpected
from supervisor.events import getEventNameByType
o = ServerOptions()
o.realize(['-c', sys.argv[1]])
s = o.configroot.supervisord
def lf(v):
    return 'AUTO' if v is Automatic else v
auto = {RestartUnconditionally: 'true', RestartWhenExitUnexpected: 'unexpected', False: 'false'}
out = {'supervisord': {k: getattr(s, k) for k in ['logfile', 'logfile_maxbytes', 'logfile_backups', 'loglevel',
         'pidfile', 'nodaemon', 'silent', 'childlogdir', 'minfds', 'minprocs', 'nocleanup', 'umask', 'identifier',
         'directory', 'strip_ansi', 'environment']},
       'warnings': o.parse_warnings, 'infos': o.parse_infos, 'groups': []}
# What supervisord uses: the main log and pid file made absolute.
out['supervisord']['logfile'] = o.logfile
out['supervisord']['pidfile'] = o.pidfile
for g in o.process_group_configs:
    procs = []
    for p in g.process_configs:
        procs.append({'name': p.name, 'command': p.command, 'priority': p.priority, 'autostart': p.autostart,
            'autorestart': auto[p.autorestart], 'startsecs': p.startsecs, 'startretries': p.startretries,
            'exitcodes': p.exitcodes, 'stopsignal': signame(p.stopsignal)[3:], 'stopwaitsecs': p.stopwaitsecs,
            'stopasgroup': p.stopasgroup, 'killasgroup': p.killasgroup, 'uid': p.uid, 'redirect_stderr': p.redirect_stderr,
            'stdout': [lf(p.stdout_logfile), p.stdout_logfile_maxbytes, p.stdout_logfile_backups],
            'stderr': [lf(p.stderr_logfile), p.stderr_logfile_maxbytes, p.stderr_logfile_backups],
            'environment': p.environment, 'directory': p.directory, 'umask': p.umask,
            'serverurl': p.serverurl or o.serverurl or '',
            'events_enabled': [p.stdout_events_enabled, p.stderr_events_enabled],
            'capture_maxbytes': [p.stdout_capture_maxbytes, p.stderr_capture_maxbytes]})
    procs.sort(key=lambda p: (p['priority'], p['name']))
    listener = None
    if hasattr(g, 'buffer_size'):
        listener = {'buffer_size': g.buffer_size, 'events': sorted(getEventNameByType(e) for e in g.pool_events)}
    out['groups'].append({'name': g.name, 'priority': g.priority, 'processes': procs, 'listener': listener})
print(json.dumps(out))
`;

const LEVELS: Record<string, number> = { critical: 50, error: 40, warn: 30, info: 20, debug: 10, trace: 5, blather: 3 };

/** A log target as supervisord holds it: [name or AUTO or null, maxbytes, backups]. */
function targetAsSupervisord(target: LogTarget, given: [string | null, number, number]): [string | null, number, number] {
  switch (target.kind) {
    case 'none':
      // supervisord keeps the sizes of a stream it does not log; they mean nothing then.
      return [null, given[1], given[2]];
    case 'inherit':
      return [target.fd === 1 ? '/dev/stdout' : '/dev/stderr', given[1], given[2]];
    case 'file':
      return [target.auto ? 'AUTO' : target.path, target.maxBytes, target.backups];
  }
}

interface Dumped {
  supervisord: Record<string, unknown>;
  warnings: string[];
  infos: string[];
  groups: { name: string; priority: number; listener: { buffer_size: number; events: string[] } | null; processes: (Record<string, unknown> & { stdout: [string | null, number, number]; stderr: [string | null, number, number] })[] }[];
}

/** Our config in the dump's shape (taking the meaningless sizes of unlogged streams from it). */
function oursAsSupervisord(config: SupervisordConfig, real: Dumped): Dumped {
  const s = config.supervisord;
  return {
    supervisord: {
      logfile: s.logfile,
      logfile_maxbytes: s.logfileMaxBytes,
      logfile_backups: s.logfileBackups,
      loglevel: LEVELS[s.loglevel],
      pidfile: s.pidfile,
      nodaemon: s.nodaemon,
      silent: s.silent,
      childlogdir: s.childlogdir,
      minfds: s.minfds,
      minprocs: s.minprocs,
      nocleanup: s.nocleanup,
      umask: s.umask,
      identifier: s.identifier,
      directory: s.directory,
      strip_ansi: s.stripAnsi,
      environment: s.environment,
    },
    warnings: config.warnings,
    infos: config.infos ?? [],
    groups: config.groups.map((g, gi) => ({
      name: g.name,
      priority: g.priority,
      listener: g.eventListener === undefined ? null : { buffer_size: g.eventListener.bufferSize, events: g.eventListener.events },
      processes: g.processes.map((p, pi) => {
        const given = real.groups[gi]?.processes[pi];
        return {
          name: p.name,
          command: p.command,
          priority: p.priority,
          autostart: p.autostart,
          autorestart: p.autorestart,
          startsecs: p.startsecs,
          startretries: p.startretries,
          exitcodes: p.exitcodes,
          stopsignal: p.stopsignal,
          stopwaitsecs: p.stopwaitsecs,
          stopasgroup: p.stopasgroup,
          killasgroup: p.killasgroup,
          uid: p.uid ?? null,
          redirect_stderr: p.redirectStderr,
          stdout: targetAsSupervisord(p.stdout, given?.stdout ?? [null, 0, 0]),
          stderr: targetAsSupervisord(p.stderr, given?.stderr ?? [null, 0, 0]),
          environment: p.environment,
          directory: p.directory,
          umask: p.umask,
          serverurl: p.serverurl,
          events_enabled: [p.stdoutEventsEnabled ?? false, p.stderrEventsEnabled ?? false],
          capture_maxbytes: [p.stdoutCaptureMaxBytes ?? 0, p.stderrCaptureMaxBytes ?? 0],
        };
      }),
    })),
  };
}

function runDump(file: string, cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, ['-c', DUMP_SCRIPT, file], { env: ENV, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const GOOD: { name: string; files: Record<string, string> }[] = [
  {
    name: 'every key, expansions, include, group, numprocs',
    files: {
      'x.conf': `[unix_http_server]
file=%(here)s/sock
[inet_http_server]
port=127.0.0.1:9999
[supervisord]
logfile=%(here)s/sd.log
pidfile=%(here)s/sd.pid
childlogdir=%(here)s
loglevel=DEBUG
logfile_maxbytes=1MB
logfile_backups=3
umask=027
minfds=100
minprocs=50
nodaemon=true
silent=on
nocleanup=1
strip_ansi=yes
identifier=box-%(ENV_FOO)s
environment=GLOBAL="g 1",SHARED=sup
[include]
files=conf.d/*.conf
[DEFAULT]
stopwaitsecs=7
[group:web]
programs=api,worker
priority=10
[program:api]
command=/bin/echo %(program_name)s %(group_name)s %(host_node_name)s "quoted arg" 100%% %(ENV_GLOBAL)s
priority=20
autostart=false
autorestart=true
startsecs=0
startretries=7
exitcodes=0,2, 3
stopsignal=sigint
stopwaitsecs=2
stopasgroup=true
user=root
stdout_logfile=%(here)s/api.out
stdout_logfile_maxbytes=10 kb
stdout_logfile_backups=0
stderr_logfile=NONE
environment=SHARED=prog,PORT="8080"
directory=/tmp
umask=002
serverurl=http://elsewhere:1
[program:worker]
command=sleep %(process_num)d %(ENV_PORT)s
process_name=%(program_name)s_%(process_num)02d
numprocs=3
numprocs_start=1
environment=PORT=%(process_num)d
redirect_stderr=true
stderr_logfile=%(here)s/ignored.log
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
killasgroup=true
[program:solo]
command = /bin/sh -c 'exit 0'
  continued ; inline comment
# comment inside
  more
stdout_logfile=AUTO
stdout_logfile_maxbytes=0
autorestart=unexpected
stopsignal=9
[foo]
ignored=1
`,
      'conf.d/10-extra.conf': '[program:extra]\ncommand=/bin/echo %(here)s\npriority=1\n[program:solo]\npriority=500\n',
      'conf.d/20-more.conf': '[program:more]\ncommand=/bin/true\nautostart=%(ENV_ON)s\n',
    },
  },
  {
    name: 'event listeners and event keys',
    files: {
      'x.conf':
        '[supervisord]\nchildlogdir=%(here)s\n[program:a]\ncommand=x\nstdout_events_enabled=true\nstderr_capture_maxbytes=2KB\n' +
        // Our backpressure keys: supervisord 4.2.5 reads the file unchanged (it ignores keys it does not know).
        '[eventlistener:mon]\ncommand=/bin/cat\nevents=process_state,TICK_5, tick_5\nbuffer_size=25\nbackpressure_holdbytes=2MB\nbuffer_maxbytes=8MB\nbackpressure_stallsecs=20\n' +
        '[eventlistener:pool]\ncommand=/bin/cat %(process_num)d\nprocess_name=p%(process_num)d\nnumprocs=2\npriority=5\nevents=EVENT\nstdout_capture_maxbytes=1MB\n',
    },
  },
  { name: 'defaults only', files: { 'x.conf': '[supervisord]\n[program:a]\ncommand=/bin/cat\n' } },
  {
    name: 'inet server for AUTO serverurl, no include match',
    files: { 'x.conf': '[supervisord]\nchildlogdir=%(here)s\n[inet_http_server]\nport=*:9001\n[include]\nfiles=none/*.conf\n[program:a]\ncommand=x\n' },
  },
  {
    name: 'dialect quirks',
    files: {
      'x.conf': `[supervisord]
childlogdir=%(here)s
[DEFAULT]
startretries=9
[program:q]
COMMAND : /bin/echo v;y ;z #w
environment=B='x y',A=hello world
numprocs=2
numprocs_start=14
process_name=q%(process_num)x_of_%(numprocs)d
directory=%(here)s/%(process_num)d
stdout_logfile=%(here)s/%(program_name)s-%(process_num)d.log
stopsignal=sigusr2
exitcodes=
autorestart=YES
user=0
umask=0o22
priority=-3
[program:q]
startsecs=4
[Program:Ignored]
command=x
[program:none]
command=x
numprocs=0
`,
    },
  },
  {
    name: 'group member order and parse warnings',
    files: {
      'x.conf':
        '[supervisord]\nchildlogdir=%(here)s\nenvironment=A=1\n[group:g]\nprograms=b,a\n[program:a]\ncommand=x\nredirect_stderr=true\nstderr_logfile=/tmp/e.log\nstdout_logfile_maxbytes=0\n[program:b]\ncommand=y\npriority=3\n[program:c]\ncommand=z\nnumprocs=2\nprocess_name=c%(process_num)d\npriority=0\n',
    },
  },
];

describeWithRealSupervisord(
  "config values: ours vs supervisord's own parser",
  () => {
    let root: string;
    beforeAll(() => {
      root = mkdtempSync(path.join(os.tmpdir(), 'config-values-vs-real-'));
    });
    afterAll(() => {
      if (root !== undefined) rmSync(root, { recursive: true, force: true });
    });

    it.each(GOOD.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, index) => {
      const dir = path.join(root, `g${index}`);
      for (const [name, text] of Object.entries(c.files)) {
        mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
        writeFileSync(path.join(dir, name), text);
      }
      const file = path.join(dir, 'x.conf');
      const dumped = await runDump(file, dir);
      expect(dumped.code, dumped.stderr).toBe(0);
      const real = JSON.parse(dumped.stdout) as Dumped;
      const ours = await loadConfig(file, { env: ENV, cwd: dir });
      expect(oursAsSupervisord(ours, real)).toEqual(real);
      expect(ours.groups.flatMap((g) => g.processes).length).toBeGreaterThan(0);
    });
  },
);
