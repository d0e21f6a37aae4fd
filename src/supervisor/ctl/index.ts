// supervisorctl: runs one action from the command line, or an interactive `supervisor>` shell.
import type { Interface } from 'node:readline';
import { Controller, type CtlIo } from './controller.js';
import { USAGE } from './help.js';
import { resolveOptions, UsageError, type CtlOptions } from './options.js';

export { Controller, ExitStatus, parseLine, type CtlIo } from './controller.js';
export { parseCommandLine, parseIni, readCtlConfig, resolveOptions, UsageError, type CtlOptions } from './options.js';
export { parseServerUrl, RpcConnectionError, RpcFault, RpcProtocolError, XmlRpcClient } from './transport.js';

export interface SupervisorctlStreams {
  /** A getter: touching process.stdin opens it, which a one-shot command should not pay for. */
  stdin: () => NodeJS.ReadableStream;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

/** Ctrl-C during `tail -f` ends the stream; elsewhere it ends the program as usual. */
function interruptedBySigint(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
  });
}

// node:readline is loaded only for the shell: one-shot commands (what probes run) start faster.
async function runShell(controller: Controller, options: CtlOptions, streams: SupervisorctlStreams): Promise<void> {
  const { createInterface } = await import('node:readline');
  const input = streams.stdin();
  const terminal = Boolean((input as { isTTY?: boolean }).isTTY);
  const rl = createInterface({ input, output: streams.stdout, terminal, historySize: 1000 });
  const lines: string[] = [];
  let waiting: ((line: string | null) => void) | null = null;
  let closed = false;
  rl.on('line', (line) => {
    if (waiting) {
      const resolve = waiting;
      waiting = null;
      resolve(line);
    } else lines.push(line);
  });
  rl.on('close', () => {
    closed = true;
    if (waiting) {
      const resolve = waiting;
      waiting = null;
      resolve(null);
    }
  });
  let interrupted = false;
  rl.on('SIGINT', () => {
    interrupted = true;
    rl.close();
  });
  const nextLine = (): Promise<string | null> => {
    const queued = lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (closed) return Promise.resolve(null);
    return new Promise((resolve) => {
      waiting = resolve;
    });
  };
  const prompt = `${options.prompt}> `;
  let line: string | null = 'status';
  for (;;) {
    if (line === null) {
      // Ctrl-D is the EOF command; Ctrl-C (KeyboardInterrupt) prints a blank line too.
      streams.stdout.write('\n');
      break;
    }
    if (await controller.onecmd(line)) break;
    // On a terminal readline owns the line (editing, history), so it must know the prompt.
    if (terminal) {
      rl.setPrompt(prompt);
      rl.prompt();
    } else {
      streams.stdout.write(prompt);
    }
    line = await nextLine();
    if (interrupted) line = null;
  }
  rl.close();
}

/** Runs supervisorctl with `argv` (without node and script); resolves with the exit code. */
export async function runSupervisorctl(argv: readonly string[], progname: string, streams: SupervisorctlStreams): Promise<number> {
  let options: CtlOptions;
  try {
    options = resolveOptions(argv, progname);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    streams.stderr.write(`Error: ${error.message}\nFor help, use ${progname} -h\n`);
    return 2;
  }
  if (options.help) {
    streams.stdout.write(USAGE.replaceAll('%s', progname));
    return 0;
  }
  const shellMode = options.args.length === 0;
  let rl: Interface | null = null;
  const io: CtlIo = {
    out: (text) => streams.stdout.write(text),
    err: (text) => streams.stderr.write(text),
    ask: shellMode
      ? async (question) => {
          const { createInterface } = await import('node:readline');
          rl ??= createInterface({ input: streams.stdin(), output: streams.stdout, terminal: false });
          const asker = rl;
          return new Promise<string>((resolve) => asker.question(question, resolve));
        }
      : null,
    interrupted: interruptedBySigint,
  };
  const controller = new Controller(options, io);
  if (!shellMode) {
    await controller.onecmd(options.args.join(' '));
    return controller.exitStatus;
  }
  await runShell(controller, options, streams);
  (rl as Interface | null)?.close();
  return 0;
}
