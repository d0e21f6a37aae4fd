// Helpers shared by the supervisor tests: the real programs they compare against (and what to do
// when one is missing), a temp dir with scripts in it, child processes killed after each test,
// ProcessConfig/SupervisordConfig built directly (no config parser involved), and an in-process
// Supervisor whose main log lines are collected so tests can wait on them.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, it } from 'vitest';
import { MainLog } from '../../src/supervisor/main-log.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { GroupConfig, ProcessConfig, SupervisordConfig } from '../../src/supervisor/types.js';
import { inCi } from '../support/ci.js';
import { descendants, killQuietly } from '../support/processes.js';
import { distProgram } from '../support/programs.js';
import { waitFor } from '../support/wait.js';

/** Debian's supervisor 4.2.5 (Python): the behaviour ours must match. */
export const REAL_SUPERVISORD = '/usr/bin/supervisord';
export const REAL_SUPERVISORCTL = '/usr/bin/supervisorctl';
export const TINI = '/usr/bin/tini';
export const UNSHARE = '/usr/bin/unshare';

/** Which implementation: Debian's Python one or ours (the bundle in dist/). */
export type Peer = 'real' | 'ours';

/** The command line that runs `supervisord args…` of one kind. */
export function supervisordCommand(peer: Peer, args: readonly string[]): [string, string[]] {
  return peer === 'real' ? [REAL_SUPERVISORD, [...args]] : [process.execPath, [distProgram('supervisord'), ...args]];
}

/** The command line that runs `supervisorctl args…` of one kind. */
export function supervisorctlCommand(peer: Peer, args: readonly string[]): [string, string[]] {
  return peer === 'real' ? [REAL_SUPERVISORCTL, [...args]] : [process.execPath, [distProgram('supervisorctl'), ...args]];
}

export type PeerVerdict = { run: true } | { run: false; skip: true } | { run: false; skip: false; message: string };

/**
 * Whether tests that need these programs (absolute paths) and maybe root can run. A developer
 * machine without them skips; in CI (`CI` set) a missing one is a failure naming it, so a CI
 * image that lost a package cannot go green by skipping the comparisons.
 */
export function peerVerdict(
  programs: readonly string[],
  { root = false, env = process.env, exists = existsSync, uid = process.getuid?.() }: {
    root?: boolean;
    env?: NodeJS.ProcessEnv;
    exists?: (file: string) => boolean;
    uid?: number;
  } = {},
): PeerVerdict {
  const missing = programs.filter((program) => !exists(program));
  if (root && uid !== 0) missing.push('root (uid 0)');
  if (missing.length === 0) return { run: true };
  if (!inCi(env)) return { run: false, skip: true };
  return { run: false, skip: false, message: `CI is set but this suite's peers are missing: ${missing.join(', ')} (npm test installs them: scripts/test-machine.mjs)` };
}

/** `describe` for a suite that needs real programs: runs, skips, or fails naming them (see peerVerdict). */
export function describeWithPeers(programs: readonly string[], options: { root?: boolean } = {}): (name: string, body: () => void) => void {
  const verdict = peerVerdict(programs, options);
  if (verdict.run) return (name, body) => describe(name, body);
  // Skipped only on a developer machine without the real programs; in CI (CI=true) a missing peer fails below.
  if (verdict.skip) return (name, body) => describe.skip(name, body);
  return (name) =>
    describe(name, () => {
      it('has its peers installed', () => {
        throw new Error(verdict.message);
      });
    });
}

export interface Launched {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** The exit code (null when killed by a signal). */
  exited: Promise<number | null>;
}

/**
 * A spawner whose children are SIGKILLed after each test if still alive, with every process they
 * started (a supervisord killed that way cannot stop its programs: they would live on as orphans),
 * their piped output collected. Call at the top of a test file.
 */
export function launcher(): (command: string, args: readonly string[], options?: SpawnOptions) => Launched {
  const children: ChildProcess[] = [];
  afterEach(async () => {
    const alive = children.splice(0).filter((child) => child.exitCode === null && child.signalCode === null);
    await Promise.all(
      alive.map((child) => {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        const below = child.pid === undefined ? [] : descendants(child.pid);
        child.kill('SIGKILL');
        for (const { pid } of below) killQuietly(pid);
        return exited;
      }),
    );
  });
  return (command, args, options = { stdio: 'ignore' }) => {
    const child = spawn(command, args, options);
    children.push(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, stdout: () => out, stderr: () => err, exited };
  };
}

/** A temp dir made before the file's tests and removed after them. Call at the top of a test file. */
export function tempDirForFile(label: string): TempDir {
  let made: TempDir | null = null;
  beforeAll(() => {
    made = tempDir(label);
  });
  afterAll(() => made?.remove());
  const current = (): TempDir => {
    if (made === null) throw new Error(`temp dir '${label}' used outside the file's tests`);
    return made;
  };
  return {
    get dir() {
      return current().dir;
    },
    file: (name) => current().file(name),
    script: (name, body) => current().script(name, body),
    supervisordConf: (name, programs, supervisordLines) => current().supervisordConf(name, programs, supervisordLines),
    remove: () => current().remove(),
  };
}

export interface TempDir {
  dir: string;
  file(name: string): string;
  script(name: string, body: string): string;
  /**
   * Writes a config for a real supervisord run: main log `main.log` and AUTO child logs in this dir
   * (a childlogdir of its own, so parallel runs don't clean up each other's logs); returns its path.
   */
  supervisordConf(name: string, programs: string, supervisordLines?: string): string;
  remove(): void;
}

export function tempDir(label: string): TempDir {
  const dir = mkdtempSync(path.join(os.tmpdir(), `sup-${label}-`));
  return {
    dir,
    file: (name) => path.join(dir, name),
    script(name, body) {
      const file = path.join(dir, name);
      writeFileSync(file, `#!/bin/sh\n${body}\n`);
      chmodSync(file, 0o755);
      return file;
    },
    supervisordConf(name, programs, supervisordLines = '') {
      const file = path.join(dir, name);
      writeFileSync(file, `[supervisord]\nlogfile=%(here)s/main.log\nchildlogdir=%(here)s\n${supervisordLines}\n\n${programs}`);
      return file;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export function processConfig(name: string, argv: string[], overrides: Partial<ProcessConfig> = {}): ProcessConfig {
  return {
    name,
    group: name,
    programName: name,
    command: argv.join(' '),
    argv,
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
    stdout: { kind: 'none' },
    stderr: { kind: 'none' },
    environment: {},
    directory: null,
    umask: null,
    serverurl: '',
    ...overrides,
  };
}

export function group(process: ProcessConfig, priority = process.priority): GroupConfig {
  return { name: process.group, priority, processes: [process] };
}

export function supervisordConfig(dir: string, groups: GroupConfig[]): SupervisordConfig {
  return {
    file: path.join(dir, 'supervisord.conf'),
    includedFiles: [],
    supervisord: {
      logfile: path.join(dir, 'supervisord.log'),
      logfileMaxBytes: 50 * 1024 * 1024,
      logfileBackups: 10,
      loglevel: 'info',
      pidfile: null,
      nodaemon: true,
      silent: true,
      childlogdir: dir,
      minfds: 1024,
      minprocs: 200,
      nocleanup: false,
      umask: 0o022,
      user: null,
      directory: null,
      environment: {},
      identifier: 'supervisor',
      stripAnsi: false,
    },
    unixHttpServer: null,
    inetHttpServer: null,
    supervisorctl: null,
    rpcInterfaceEnabled: true,
    groups: [...groups].sort((a, b) => a.priority - b.priority || (a.name < b.name ? -1 : 1)),
    warnings: [],
  };
}

export interface LoggedLine {
  at: number;
  level: string;
  message: string;
}

export interface Harness {
  supervisor: Supervisor;
  lines: LoggedLine[];
  messages(): string[];
  /** Wait until a line matching `pattern` has been logged (the `nth` one, 1-based); returns it. */
  waitForLine(pattern: RegExp, nth?: number, timeoutMs?: number): Promise<LoggedLine>;
  /** Stop everything and close the log. */
  stop(): Promise<void>;
}

export function startSupervisor(
  config: SupervisordConfig,
  options: { loadConfig?: (file: string) => Promise<SupervisordConfig>; level?: SupervisordConfig['supervisord']['loglevel'] } = {},
): Harness {
  const lines: LoggedLine[] = [];
  const log = new MainLog({
    level: options.level ?? config.supervisord.loglevel,
    file: config.supervisord.logfile,
    maxBytes: config.supervisord.logfileMaxBytes,
    backups: config.supervisord.logfileBackups,
    toStdout: false,
    onLine(line) {
      const match = /^\S+ \S+ (\S+) (.*)\n$/s.exec(line);
      lines.push({ at: Date.now(), level: match?.[1] ?? '', message: match?.[2] ?? line });
    },
  });
  const supervisor = new Supervisor({
    config,
    log,
    loadConfig: options.loadConfig ?? (async () => config),
  });
  supervisor.start();
  return {
    supervisor,
    lines,
    messages: () => lines.map((line) => line.message),
    async waitForLine(pattern, nth = 1, timeoutMs = 20_000) {
      return waitFor(
        `log line ${pattern} #${nth}`,
        () => lines.filter((line) => pattern.test(line.message))[nth - 1],
        { timeoutMs },
      );
    },
    async stop() {
      const stopped = supervisor.whenStopped();
      supervisor.shutdown();
      await stopped;
      await supervisor.dispose();
      log.close();
    },
  };
}
