// Helpers for the process-manager tests: ProcessConfig/SupervisordConfig built directly (no
// config parser involved), a temp dir, scripts in it, and an in-process Supervisor whose main
// log lines are collected so tests can wait on them.
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MainLog } from '../../src/supervisor/main-log.js';
import { Supervisor } from '../../src/supervisor/supervisor.js';
import type { GroupConfig, ProcessConfig, SupervisordConfig } from '../../src/supervisor/types.js';
import { waitFor } from '../support/wait.js';

export interface TempDir {
  dir: string;
  file(name: string): string;
  script(name: string, body: string): string;
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
