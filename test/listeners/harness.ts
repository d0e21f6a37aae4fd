// Runs a supervisord of either kind with a config of event listeners, its stdout collected the way
// `docker logs` sees it (a pipe), and an XML-RPC client on its socket.
// Every scenario runs under both daemons: Debian's supervisord 4.2.5 (npm test installs it) and ours.
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { Socket } from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import path from 'node:path';
import { describe } from 'vitest';
import { XmlRpcClient } from '../../src/supervisor/index.js';
import { launcher, supervisordCommand, tempDir, type Launched, type Peer, type TempDir } from '../supervisor/fixtures.js';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';

/** The daemons every scenario runs under. */
export const DAEMONS: readonly Peer[] = ['real', 'ours'];

/** `describe` of one scenario for one daemon. */
export function describeDaemon(peer: Peer, name: string, body: () => void): void {
  describe(`${name} (under ${peer === 'real' ? "Debian's supervisord 4.2.5" : 'our supervisord'})`, body);
}

export type Listener = 'log-forwarder' | 'memory-monitor' | 'crash-notice';

export function listenerProgram(name: Listener): string {
  return path.join(ROOT, 'dist', `${name}.js`);
}

export interface RunningDaemon {
  dir: TempDir;
  launched: Launched;
  client: XmlRpcClient;
  socket: string;
  /** What supervisord wrote to its stdout so far (docker logs). */
  stdout(): string;
  mainLog(): string;
  /** Text of a file in the run's directory ('' when missing). */
  read(name: string): string;
  stop(): Promise<void>;
}

/**
 * Call at the top of a describe: returns a starter of supervisord `peer` with `sections` (program and
 * eventlistener sections; `%(here)s` is the run's directory). The daemon is stopped after each test.
 */
export function daemonStarter(peer: Peer): (label: string, sections: (dir: TempDir) => string) => Promise<RunningDaemon> {
  const launch = launcher();
  return async (label, sections) => {
    const dir = tempDir(`listen-${label}`);
    const socket = dir.file('supervisor.sock');
    const conf = dir.file('supervisord.conf');
    const config = [
      '[supervisord]',
      `logfile=${dir.file('main.log')}`,
      `pidfile=${dir.file('supervisord.pid')}`,
      `childlogdir=${dir.dir}`,
      'nodaemon=true',
      'user=root',
      '[unix_http_server]',
      `file=${socket}`,
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '[supervisorctl]',
      `serverurl=unix://${socket}`,
      sections(dir),
    ].join('\n');
    writeFileSync(conf, `${config}\n`);
    const [command, args] = supervisordCommand(peer, ['-c', conf]);
    // supervisord's stdout is a pipe, as under docker and Kubernetes (containerd's FIFOs): a listener's
    // `stderr_logfile=/dev/stdout` opens /proc/self/fd/1, which fails (ENXIO) on the socket pair
    // that Node's stdio 'pipe' would give.
    const fifo = dir.file('stdout.fifo');
    execFileSync('mkfifo', [fifo]);
    const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    const writeEnd = openSync(fifo, constants.O_WRONLY);
    const launched = launch(command, args, { stdio: ['ignore', writeEnd, 'pipe'] });
    closeSync(writeEnd);
    const reader = new Socket({ fd: readEnd, readable: true, writable: false });
    // Decoded across chunk boundaries (a character may be split between two reads of the pipe).
    const decoder = new StringDecoder('utf8');
    let stdout = '';
    reader.on('data', (chunk: Buffer) => (stdout += decoder.write(chunk)));
    reader.on('error', () => undefined);
    const client = new XmlRpcClient({ kind: 'unix', path: socket }, { username: null, password: null });
    await waitFor(`supervisord (${peer}) answering on ${socket}`, async () => (await client.call('supervisor.getState')) !== null);
    const read = (name: string): string => {
      const file = dir.file(name);
      return existsSync(file) ? readFileSync(file, 'utf8') : '';
    };
    return {
      dir,
      launched,
      client,
      socket,
      stdout: () => stdout,
      mainLog: () => read('main.log'),
      read,
      async stop() {
        if (launched.child.exitCode === null && launched.child.signalCode === null) {
          launched.child.kill('SIGTERM');
          await launched.exited;
        }
        reader.destroy();
        dir.remove();
      },
    };
  };
}
