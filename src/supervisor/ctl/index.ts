// supervisorctl: runs one action from the command line, or an interactive `supervisor>` shell.
import { readFileSync, writeFileSync } from 'node:fs';
import type { Interface } from 'node:readline';
import { Controller, type CtlIo } from './controller.js';
import { usageErrorText } from '../getopt.js';
import { USAGE } from './help.js';
import { resolveOptions, UsageError, type CtlOptions } from './options.js';

export { Controller, ExitStatus, parseLine, type CtlIo } from './controller.js';
export { parseCommandLine, readCtlConfig, resolveOptions, UsageError, type CtlOptions } from './options.js';
export { parseServerUrl, RpcConnectionError, RpcFault, RpcProtocolError, XmlRpcClient } from './transport.js';
export { useLibuvHandles } from './connection.js';

export interface SupervisorctlStreams {
  /**
   * Getters, for the shell's and the questions' line reader only: touching process.stdin opens it, and
   * process.stdout on a pipe or a terminal is a net.Socket (node:net loaded), neither of which a one-shot
   * command should pay for.
   */
  stdin: () => NodeJS.ReadableStream;
  stdout: () => NodeJS.WritableStream;
  /** The command's output and errors (supervisorctl-main.ts writes them to the descriptors directly). */
  out: (text: string) => void;
  err: (text: string) => void;
}

/** Ctrl-C during `tail -f`/`fg` ends that action; elsewhere it ends the program as usual. */
function interruptedBySigint(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
  });
}

/**
 * The one reader of stdin, shared by the shell prompt, `fg` and the y/N and Username: questions
 * (two readline interfaces on one stream would steal each other's lines).
 */
class LineReader {
  readonly typed: string[] = [];
  private readonly queued: string[] = [];
  private waiting: ((line: string | null) => void) | null = null;
  private closed = false;
  /** Ctrl-C on a terminal: the shell ends like Python's KeyboardInterrupt. */
  interrupted = false;

  private constructor(
    private readonly rl: Interface,
    readonly terminal: boolean,
    private readonly output: NodeJS.WritableStream,
  ) {
    rl.on('line', (line) => {
      if (line.trim() !== '') this.typed.push(line);
      const resolve = this.waiting;
      this.waiting = null;
      if (resolve) resolve(line);
      else this.queued.push(line);
    });
    rl.on('close', () => {
      this.closed = true;
      const resolve = this.waiting;
      this.waiting = null;
      resolve?.(null);
    });
    rl.on('SIGINT', () => {
      this.interrupted = true;
      rl.close();
    });
  }

  static async open(streams: SupervisorctlStreams, history: string[]): Promise<LineReader> {
    // Loaded here, not at start: a one-shot command (`supervisorctl status`) never reads a line. Not import():
    // the bundle runs through vm.Script (supervisorctl-loader.ts), which has no dynamic import.
    const { createInterface } = process.getBuiltinModule('node:readline');
    const input = streams.stdin();
    const terminal = Boolean((input as { isTTY?: boolean }).isTTY);
    const rl = createInterface({ input, output: streams.stdout(), terminal, historySize: 1000, history: [...history].reverse() });
    return new LineReader(rl, terminal, streams.stdout());
  }

  /** The next line, or null at end of input. */
  next(): Promise<string | null> {
    const line = this.queued.shift();
    if (line !== undefined) return Promise.resolve(line);
    if (this.closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      this.waiting = resolve;
    });
  }

  /** Shows `prompt` (through readline on a terminal, which must know it to redraw the line), then reads. */
  ask(prompt: string): Promise<string | null> {
    if (this.terminal) {
      this.rl.setPrompt(prompt);
      this.rl.prompt();
    } else {
      this.output.write(prompt);
    }
    return this.next();
  }

  close(): void {
    this.rl.close();
  }
}

function readHistory(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '' && line !== '_HiStOrY_V2_');
  } catch {
    return [];
  }
}

async function runShell(controller: Controller, options: CtlOptions, reader: LineReader, history: string[]): Promise<void> {
  const prompt = `${options.prompt}> `;
  let line: string | null = 'status';
  for (;;) {
    if (line === null || reader.interrupted) {
      // End of input is the EOF command; Ctrl-C (KeyboardInterrupt) prints a blank line too.
      controller.io.out('\n');
      break;
    }
    if (await controller.onecmd(line)) break;
    line = await reader.ask(prompt);
  }
  reader.close();
  if (options.historyFile !== null) {
    try {
      writeFileSync(options.historyFile, [...history, ...reader.typed].slice(-1000).map((l) => `${l}\n`).join(''));
    } catch {
      // like readline.write_history_file's IOError: ignored
    }
  }
}

/** Runs supervisorctl with `argv` (without node and script); resolves with the exit code. */
export async function runSupervisorctl(argv: readonly string[], progname: string, streams: SupervisorctlStreams): Promise<number> {
  let options: CtlOptions;
  try {
    options = resolveOptions(argv, progname);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    streams.err(usageErrorText(error.message, progname));
    return 2;
  }
  if (options.help) {
    streams.out(USAGE.replaceAll('%s', progname));
    return 0;
  }
  const shellMode = options.args.length === 0;
  const history = shellMode && options.historyFile !== null ? readHistory(options.historyFile) : [];
  let reader: Promise<LineReader> | null = null;
  const lineReader = (): Promise<LineReader> => (reader ??= LineReader.open(streams, history));
  const io: CtlIo = {
    out: streams.out,
    err: streams.err,
    ask: shellMode ? async (question) => (await (await lineReader()).ask(question)) ?? '' : null,
    readLine: async () => (await lineReader()).next(),
    interrupted: interruptedBySigint,
  };
  const controller = new Controller(options, io);
  if (!shellMode) {
    await controller.onecmd(options.args.join(' '));
    // Assigned inside lineReader(), which TypeScript's narrowing cannot see.
    const opened = reader as Promise<LineReader> | null;
    if (opened !== null) (await opened).close();
    return controller.exitStatus;
  }
  await runShell(controller, options, await lineReader(), history);
  return 0;
}
