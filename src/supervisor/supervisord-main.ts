// `supervisord`: read the config, start the control servers and the processes, and run until a
// signal or an RPC says stop (exit 0) or restart (stop everything, read the config again, go on).
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { resolveUser } from './config/datatypes.js';
import { ConfigError, defaultConfigSearchPaths, findDefaultConfigFile, loadConfig } from './config/index.js';
import { parseCommandLine, USAGE, UsageError, VERSION_TEXT, type CliCommand } from './cli.js';
import { usageErrorText } from './getopt.js';
import { MainLog } from './main-log.js';
import { startControlServers } from './rpc/control-servers.js';
import { Supervisor } from './supervisor.js';
import { SupervisordState, type SupervisordConfig, type SupervisordSection } from './types.js';

/** Set in the environment of the background copy that `supervisord` without -n starts. */
const DAEMON_CHILD_ENV = 'SUPERVISORD_DAEMON_CHILD';
/** The background copy started by daemonize(). Taken out of the environment: the programs must not inherit it. */
const isDaemonChild = process.env[DAEMON_CHILD_ENV] === '1';
delete process.env[DAEMON_CHILD_ENV];
// Once it is up, the copy's stderr has no reader (the foreground one has exited): a late write must not kill it.
if (isDaemonChild) process.stderr.on('error', () => undefined);

function fail(message: string): never {
  process.stderr.write(usageErrorText(message, process.argv[1] ?? 'supervisord'));
  process.exit(2);
}

function errorMessage(error: unknown): string {
  if (error instanceof ConfigError) return error.message;
  return error instanceof Error ? error.message : String(error);
}

type RunCommand = Extract<CliCommand, { kind: 'run' }>;

/** The config file with the command line's values over it (they win, also after a reload). */
function loadWithCommandLine(command: RunCommand): (file: string) => Promise<SupervisordConfig> {
  const overrides: Partial<SupervisordSection> = { ...command.overrides };
  // Values the command line gives are relative to where supervisord was started (normalize_path).
  if (overrides.logfile !== undefined && overrides.logfile !== null && overrides.logfile !== 'syslog') {
    overrides.logfile = path.resolve(overrides.logfile);
  }
  if (overrides.pidfile !== undefined && overrides.pidfile !== null) overrides.pidfile = path.resolve(overrides.pidfile);
  if (overrides.directory !== undefined && overrides.directory !== null) overrides.directory = path.resolve(overrides.directory);
  if (overrides.childlogdir !== undefined) overrides.childlogdir = path.resolve(overrides.childlogdir);
  if (command.nodaemon) overrides.nodaemon = true;
  if (command.silent) overrides.silent = true;
  return (file) => loadConfig(file, { overrides });
}

async function readConfig(file: string, command: RunCommand): Promise<SupervisordConfig> {
  let config: SupervisordConfig;
  try {
    config = await loadWithCommandLine(command)(file);
  } catch (error) {
    return fail(errorMessage(error));
  }
  // ServerOptions.realize resolves -u after the config file is read.
  if (command.overrides.user !== undefined && command.overrides.user !== null) {
    try {
      resolveUser(command.overrides.user);
    } catch (error) {
      fail(errorMessage(error));
    }
  }
  return config;
}

/**
 * Without -n/nodaemon: start a detached copy of ourselves in the foreground mode, and exit once it is up
 * (its control servers listen, its pidfile is written). supervisord opens those before it forks, so a
 * port in use or a log that cannot be opened is an error on the terminal and a non-zero exit; so here:
 * when the copy exits before it is up, what it wrote to stderr is ours and its exit status too.
 */
function daemonize(): Promise<never> {
  // --nodaemon right after the script: after a `--` in the user's arguments it would be positional.
  const [script = '', ...args] = process.argv.slice(1);
  const child = spawn(process.execPath, [...process.execArgv, script, '--nodaemon', ...args], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    env: { ...process.env, [DAEMON_CHILD_ENV]: '1' },
  });
  const errors: Buffer[] = [];
  child.stderr?.on('data', (chunk: Buffer) => errors.push(chunk));
  return new Promise<never>(() => {
    child.once('message', () => process.exit(0));
    child.once('exit', (code, signal) => {
      process.stderr.write(Buffer.concat(errors));
      process.exit(code ?? (signal === null ? 1 : 128));
    });
  });
}

/**
 * The background copy is up: the foreground one may exit 0 (daemonize). Resolves once the channel is
 * closed, before any program starts (none inherits it).
 */
function announceUp(): Promise<void> {
  const send = process.send?.bind(process);
  if (!isDaemonChild || send === undefined) return Promise.resolve();
  return new Promise((resolve) => {
    process.once('disconnect', () => resolve());
    send('up', () => process.disconnect());
  });
}

function startupLines(log: MainLog, config: SupervisordConfig): void {
  if (process.getuid?.() === 0 && config.supervisord.user === null) {
    log.critical(
      'Supervisor is running as root.  Privileges were not dropped because no user is specified in the config file.  If you intend to run as root, you can set user=root in the config file to avoid this message.',
    );
  }
  for (const warning of config.warnings) log.warn(warning);
  for (const info of config.infos ?? []) log.info(info);
  if (process.pid === 1) {
    // Node only reaps children it spawned itself, so orphans re-parented to PID 1 would stay zombies.
    log.warn('supervisord is running as PID 1: orphaned processes will not be reaped; run it under an init (tini -- supervisord)');
  }
}

/** [supervisord] user= and directory=, applied once at start like supervisord. */
function applyProcessSettings(config: SupervisordConfig): void {
  const { user, directory, umask } = config.supervisord;
  process.umask(umask);
  if (directory !== null) {
    try {
      process.chdir(directory);
    } catch (error) {
      fail(`couldn't chdir to ${directory}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`);
    }
  }
  if (user !== null && process.getuid?.() === 0 && user !== 'root' && user !== '0') {
    try {
      process.setgid?.(user);
      process.setuid?.(user);
    } catch (error) {
      fail(`Can't drop privilege as nonroot user ${user}: ${(error as Error).message}`);
    }
  }
}

/** `-c FILE`, or the first config file found where supervisord looks for one. */
function configFileOf(command: Extract<CliCommand, { kind: 'run' }>): string {
  if (command.configFile !== null) return command.configFile;
  const found = findDefaultConfigFile();
  if (found === null) {
    fail(
      `No config file found at default paths (${defaultConfigSearchPaths().join(', ')}); use the -c option to specify a config file at a different path`,
    );
  }
  return found;
}

/**
 * One life of supervisord with one config: main log, control servers, pidfile, programs; returns
 * when it has stopped them all, true when it should start again with the re-read config.
 */
async function runUntilStopped(
  config: SupervisordConfig,
  command: RunCommand,
  first: boolean,
  started: (supervisor: Supervisor) => void,
): Promise<boolean> {
  const settings = config.supervisord;
  const log = new MainLog({
    level: settings.loglevel,
    file: settings.logfile,
    maxBytes: settings.logfileMaxBytes,
    backups: settings.logfileBackups,
    toStdout: settings.nodaemon && !settings.silent && !isDaemonChild,
  });
  startupLines(log, config);
  if (first && isDaemonChild) log.info('daemonizing the supervisord process');
  const supervisor = new Supervisor({ config, log, loadConfig: loadWithCommandLine(command) });
  started(supervisor);
  let servers: { close(): Promise<void> };
  try {
    servers = await startControlServers(supervisor, config, log);
  } catch (error) {
    log.close();
    fail(errorMessage(error));
  }
  if (config.rpcInterfaceEnabled) {
    for (const server of [config.unixHttpServer, config.inetHttpServer]) {
      if (server !== null) log.info("RPC interface 'supervisor' initialized");
    }
  }
  const pidfile = settings.pidfile;
  if (pidfile !== null) {
    try {
      writeFileSync(pidfile, `${process.pid}\n`);
      log.info(`supervisord started with pid ${process.pid}`);
    } catch {
      log.critical(`could not write pidfile ${pidfile}`);
    }
  } else {
    log.info(`supervisord started with pid ${process.pid}`);
  }
  if (first) await announceUp();
  supervisor.start();

  await supervisor.whenStopped();
  await servers.close();
  await supervisor.dispose();
  if (pidfile !== null) rmSync(pidfile, { force: true });
  log.close();
  // Read the mood last: a SIGTERM during a restart's stop phase turns it into a shutdown.
  return supervisor.state() === SupervisordState.RESTARTING;
}

/**
 * V8's memory reducer gives back what start-up left (the young generation grown while the config was read
 * and the programs spawned, pages of dead objects) once the heap goes quiet, but only 8 s after: supervisord
 * then sits 1.7 MiB above where it idles for those seconds (npm run bench:supervisor measures at 4 s). 1 s is
 * still long after any burst of work. V8 marks the flag experimental, so it is set here, where a V8 without it
 * prints one line and goes on, and not on the command line, where node would refuse to start. V8 11 to 13
 * (Node 20, 22, 24) have it.
 */
function returnStartUpMemorySooner(): void {
  const v8Major = Number(process.versions.v8.split('.')[0]);
  if (v8Major >= 11 && v8Major <= 13) setFlagsFromString('--gc-memory-reducer-start-delay-ms=1000');
}

async function main(): Promise<void> {
  returnStartUpMemorySooner();
  let command: CliCommand;
  try {
    command = parseCommandLine(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) fail(error.message);
    throw error;
  }
  if (command.kind === 'help') {
    process.stdout.write(USAGE);
    return;
  }
  if (command.kind === 'version') {
    process.stdout.write(`${VERSION_TEXT}\n`);
    return;
  }
  // As typed: supervisord names the file as given in its messages (config.file is absolute).
  let config = await readConfig(configFileOf(command), command);
  if (!config.supervisord.nodaemon && !isDaemonChild) await daemonize();
  applyProcessSettings(config);

  // A closed stdout (the reader of `-n` output went away) must not take the children down with us.
  process.stdout.on('error', () => undefined);
  let current: Supervisor | null = null;
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGQUIT', 'SIGHUP', 'SIGUSR2'] as const) {
    process.on(signal, () => current?.handleSignal(signal));
  }
  // supervisord's main loop is the program's reason to live, even with nothing to supervise.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  const started = (supervisor: Supervisor): void => {
    current = supervisor;
  };
  for (let first = true; await runUntilStopped(config, command, first, started); first = false) {
    config = await readConfig(config.file, command);
  }
  clearInterval(keepAlive);
  // Grandchildren may still hold a child's pipe open; nothing of ours is left to wait for.
  process.exit(0);
}

main().catch((error: unknown) => {
  process.stderr.write(`supervisord: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
