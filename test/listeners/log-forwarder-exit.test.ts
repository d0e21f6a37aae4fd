// The forwarder program (dist/log-forwarder.js) ends by itself, exit status 0, when supervisord closes
// its stdin: idle, and after a burst that filled its output (a FIFO, as supervisord's stdout) so that
// its writer thread took over. A thread left holding the process would keep it alive for ever.
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, mkdtempSync, openSync, rmSync } from 'node:fs';
import { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { listenerProgram } from './harness.js';

const dirs: string[] = [];
const readers: Socket[] = [];
afterEach(() => {
  for (const reader of readers.splice(0)) reader.destroy();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The forwarder with its stderr on a FIFO that this process reads once told (read()). */
function startForwarder(): { send(data: string): void; end(): void; answers(): string; output(): string; read(): void; exited: Promise<number | null> } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fwd-exit-'));
  dirs.push(dir);
  const fifo = path.join(dir, 'stdout.fifo');
  execFileSync('mkfifo', [fifo]);
  const readEnd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
  const writeEnd = openSync(fifo, constants.O_WRONLY);
  const child = spawn(process.execPath, [listenerProgram('log-forwarder')], { stdio: ['pipe', 'pipe', writeEnd] });
  closeSync(writeEnd);
  const { stdin, stdout } = child;
  if (stdin === null || stdout === null) throw new Error('the forwarder has no stdin/stdout pipes');
  const reader = new Socket({ fd: readEnd, readable: true, writable: false });
  readers.push(reader);
  // Not read until told: the FIFO fills and the forwarder's writes must wait.
  reader.pause();
  let output = '';
  reader.setEncoding('latin1');
  reader.on('data', (chunk: string) => (output += chunk));
  reader.on('error', () => undefined);
  let answers = '';
  stdout.setEncoding('latin1');
  stdout.on('data', (chunk: string) => (answers += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    send: (data) => stdin.write(data),
    end: () => stdin.end(),
    answers: () => answers,
    output: () => output,
    read: () => reader.resume(),
    exited,
  };
}

describe('log forwarder program: exits when its stdin closes', () => {
  it('idle: exits 0 at once', async () => {
    const forwarder = startForwarder();
    await waitFor('READY', () => forwarder.answers() === 'READY\n');
    forwarder.end();
    expect(await forwarder.exited).toBe(0);
  });

  it('after a burst that filled its output: writes every line, then exits 0', async () => {
    const forwarder = startForwarder();
    await waitFor('READY', () => forwarder.answers() === 'READY\n');
    const count = 3000;
    const lines = Array.from({ length: count }, (_, i) => `line ${i} ${'x'.repeat(80)}\n`).join('');
    const payload = `processname:writer groupname:writer pid:1 channel:stdout\n${lines}`;
    // ~270 KB of output into a FIFO of 64 KiB nobody reads yet.
    forwarder.send(`ver:3.0 server:supervisor serial:1 pool:fwd poolserial:1 eventname:PROCESS_LOG_STDOUT len:${payload.length}\n${payload}`);
    await waitFor('the answer', () => forwarder.answers() === 'READY\nRESULT 2\nOKREADY\n');
    forwarder.end();
    forwarder.read();
    expect(await forwarder.exited).toBe(0);
    const written = await waitFor('every line read', () => {
      const seen = forwarder.output().split('\n').filter((line) => line.startsWith('writer | '));
      return seen.length >= count ? seen : false;
    });
    expect(written).toEqual(lines.split('\n').slice(0, -1).map((line) => `writer | ${line}`));
  });
});
