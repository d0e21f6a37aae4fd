// supervisorctl entry point (bundled, minified CommonJS in dist/supervisorctl.cjs for a fast start).
import { writeSync } from 'node:fs';
import { runSupervisorctl, useLibuvHandles } from './ctl/index.js';

const progname = process.argv[1] ?? 'supervisorctl';

/** process.stdout or process.stderr, made on first use (the shell's line reader) with the handler every write needs. */
class StandardStream {
  private stream: NodeJS.WriteStream | undefined;
  constructor(private readonly make: () => NodeJS.WriteStream) {}

  get made(): boolean {
    return this.stream !== undefined;
  }

  get(): NodeJS.WriteStream {
    if (this.stream) return this.stream;
    const stream = this.make();
    this.stream = stream;
    // `supervisorctl status | head -1`: a closed pipe ends the program quietly, not with a stack trace.
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
    return stream;
  }

  /** Nothing queued: everything written has reached the pipe, file or terminal. */
  get drained(): boolean {
    return this.stream === undefined || this.stream.writableLength === 0;
  }
}

const stdout = new StandardStream(() => process.stdout);
const stderr = new StandardStream(() => process.stderr);

/**
 * Writes to descriptor `fd` directly (fs.writeSync) while its stream is not made: on a pipe or a terminal
 * process.stdout is a net.Socket, and making it loads node:net, which the connection avoids too
 * (ctl/connection.ts). Node writes those streams synchronously on Linux anyway. Once the stream exists (the shell's line reader made it, or
 * the descriptor is non-blocking and full), everything goes through it, in order.
 */
function writerTo(fd: number, standard: StandardStream): (text: string) => void {
  return (text) => {
    let rest = Buffer.from(text, 'utf8');
    if (!standard.made) {
      try {
        while (rest.length > 0) rest = rest.subarray(writeSync(fd, rest));
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') process.exit(process.exitCode ?? 0);
        // Full (EAGAIN): the stream made below takes the rest, and every write after it.
        if (code !== 'EAGAIN') throw error;
      }
    }
    standard.get().write(rest);
  };
}

const err = writerTo(2, stderr);
// The request goes through libuv's handles rather than node:net (ctl/connection.ts); with the direct writes
// above, 4-7 ms of a `status` run (npm run bench:ctl).
useLibuvHandles();
runSupervisorctl(process.argv.slice(2), progname, { stdin: () => process.stdin, stdout: () => stdout.get(), out: writerTo(1, stdout), err }).then(
  (code) => {
    process.exitCode = code;
    if (stdout.drained && stderr.drained) {
      // Everything written has reached the pipe, file or terminal: exit now rather than tear Node down at the
      // loop's end (~1.5 ms of a `status` run, npm run bench:ctl).
      process.exit(code);
    }
    // Otherwise let the output drain, so piped output is never cut short. A Ctrl-C listener may still be
    // registered by `tail -f`; nothing else keeps the loop alive.
    process.removeAllListeners('SIGINT');
  },
  (error: unknown) => {
    err(`supervisorctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
