// supervisorctl entry point (bundled, minified CommonJS in dist/supervisorctl.cjs for a fast start).
import { runSupervisorctl } from './ctl/index.js';

const progname = process.argv[1] ?? 'supervisorctl';

/** The standard streams made so far. */
const made: NodeJS.WriteStream[] = [];

/** process.stdout / process.stderr, made on first use with the handler every write needs. */
function guarded(make: () => NodeJS.WriteStream): () => NodeJS.WriteStream {
  let stream: NodeJS.WriteStream | undefined;
  return () => {
    if (stream) return stream;
    stream = make();
    made.push(stream);
    // `supervisorctl status | head -1`: a closed pipe ends the program quietly, not with a stack trace.
    stream.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw error;
    });
    return stream;
  };
}
const stdout = guarded(() => process.stdout);
const stderr = guarded(() => process.stderr);

runSupervisorctl(process.argv.slice(2), progname, { stdin: () => process.stdin, stdout, stderr }).then(
  (code) => {
    process.exitCode = code;
    if (made.every((stream) => stream.writableLength === 0)) {
      // Everything written has reached the pipe, file or terminal: exit now rather than tear Node down at the
      // loop's end (~1.5 ms of a `status` run, npm run bench:ctl).
      process.exit(code);
    }
    // Otherwise let the output drain, so piped output is never cut short. A Ctrl-C listener may still be
    // registered by `tail -f`; nothing else keeps the loop alive.
    process.removeAllListeners('SIGINT');
  },
  (error: unknown) => {
    stderr().write(`supervisorctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
// The command's first request is on its way (runSupervisorctl runs synchronously up to its first wait):
// make stdout now (~0.3 ms), while the connection is made, rather than after supervisord's answer.
stdout();
