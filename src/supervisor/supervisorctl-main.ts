// supervisorctl entry point (bundled, minified CommonJS in dist/supervisorctl.cjs for a fast start).
import { runSupervisorctl } from './ctl/index.js';

const progname = process.argv[1] ?? 'supervisorctl';
// `supervisorctl status | head -1`: a closed pipe ends the program quietly, not with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}
runSupervisorctl(process.argv.slice(2), progname, { stdin: () => process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    // Let stdout drain instead of process.exit(), so piped output is never cut short.
    process.exitCode = code;
    // A Ctrl-C listener may still be registered by `tail -f`; nothing else keeps the loop alive.
    process.removeAllListeners('SIGINT');
  },
  (error: unknown) => {
    process.stderr.write(`supervisorctl: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  },
);
