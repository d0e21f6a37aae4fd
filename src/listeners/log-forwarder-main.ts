// `storyboard-log-forwarder` (dist/log-forwarder.js): an event listener for PROCESS_LOG_STDOUT/STDERR
// that writes every program line to its stderr (or --output FILE), which supervisord.conf points at
// supervisord's own stdout. See log-forwarder.ts for the line format.
//
// Stopped by supervisord (SIGTERM; SIGINT too), it takes no more events, writes every line it has
// accepted (an unfinished one as it is) and exits 0, within --stop-within seconds (keep that below the
// section's stopwaitsecs, default 10): lines it acknowledged are in no one else's hands.
//
//   [eventlistener:log-forwarder]
//   command=node /app/dist/log-forwarder.js
//   events=PROCESS_LOG
//   buffer_size=1024
//   stderr_logfile=/dev/stdout
//   stderr_logfile_maxbytes=0
import { constants, fstatSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LogForwarder, PIPE_BUF } from './log-forwarder.js';
import { runMain, stderrLog, stdioChannel } from './main-support.js';
import { runListener } from './protocol.js';
import { parseByteSize } from './sizes.js';

const USAGE = `usage: log-forwarder [--output FILE] [--max-buffer SIZE] [--max-line SIZE] [--write-size SIZE] [--flush-after SECONDS] [--stop-within SECONDS] [--skip-logged-copies]
  --output FILE         append lines to FILE instead of writing them to stderr
  --max-buffer SIZE     bytes of lines waiting for the output at most, beyond it lines are dropped (default 16MB)
  --max-line SIZE       an unfinished line longer than this is written as it is (default 64KB)
  --write-size SIZE     most bytes per write, whole lines (default: 4096, PIPE_BUF, when the output is a pipe:
                        supervisord writes its own lines to the same pipe, and only writes up to PIPE_BUF are
                        atomic there; 64KB otherwise); a longer line is written as parts, 'name +| ' on
                        all but the last
  --flush-after SECONDS an unfinished line older than this is written as it is (default 2)
  --stop-within SECONDS on SIGTERM/SIGINT, time to write out the accepted lines before exiting anyway (default 5)
  --skip-logged-copies  leave out stderr lines that begin {"level": (our programs write each warning and error
                        to stdout and again to stderr: forwarded once); other stderr lines still go
`;

function positiveSeconds(option: string, text: string): number {
  const seconds = Number(text);
  if (!Number.isFinite(seconds) || seconds <= 0) throw new Error(`--${option}: ${JSON.stringify(text)} is not a positive number of seconds`);
  return seconds;
}

/** PIPE_BUF on a pipe/FIFO (shared with supervisord's own writes), 64 KiB on anything else. */
function defaultWriteSize(fd: number): number {
  try {
    return fstatSync(fd).isFIFO() ? PIPE_BUF : 64 * 1024;
  } catch {
    return PIPE_BUF;
  }
}

/**
 * The pipe behind `fd` opened again, non-blocking (a FIFO or pipe only): a new open file description,
 * so O_NONBLOCK does not reach supervisord's or anyone else's descriptor of it. Undefined when it
 * cannot be had (not a pipe, no /proc, no permission): every write then goes through libuv's pool.
 */
function nonBlockingTwin(fd: number): number | undefined {
  try {
    if (!fstatSync(fd).isFIFO()) return undefined;
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch {
    return undefined;
  }
}

/**
 * A blocking descriptor of the output for the writer thread (a pipe only: a pipe's reader is what
 * the thread keeps fed; a file is written through libuv's pool as before): the pipe opened again
 * without O_NONBLOCK (its own open file description: whoever made the shared one non-blocking keeps
 * it so). Only once a non-blocking open proved that the pipe has a reader (a blocking open of a FIFO
 * without one would wait for ever).
 */
function blockingTwin(fd: number, nonBlocking: number | undefined): number | undefined {
  try {
    if (!fstatSync(fd).isFIFO() || nonBlocking === undefined) return undefined;
    return openSync(`/proc/self/fd/${fd}`, constants.O_WRONLY);
  } catch {
    return undefined;
  }
}

runMain('log-forwarder', async () => {
  const { values } = parseArgs({
    options: {
      output: { type: 'string' },
      'max-buffer': { type: 'string', default: '16MB' },
      'max-line': { type: 'string', default: '64KB' },
      'write-size': { type: 'string' },
      'flush-after': { type: 'string', default: '2' },
      'stop-within': { type: 'string', default: '5' },
      'skip-logged-copies': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const flushAfterSeconds = positiveSeconds('flush-after', values['flush-after']);
  const stopWithinSeconds = positiveSeconds('stop-within', values['stop-within']);
  const fd = values.output === undefined ? 2 : openSync(values.output, 'a');
  const nonBlockingFd = nonBlockingTwin(fd);
  const forwarder = new LogForwarder({
    fd,
    maxQueueBytes: parseByteSize(values['max-buffer']),
    maxLineBytes: parseByteSize(values['max-line']),
    maxWriteBytes: Math.max(1, values['write-size'] === undefined ? defaultWriteSize(fd) : parseByteSize(values['write-size'])),
    selfName: process.env.SUPERVISOR_PROCESS_NAME ?? 'log-forwarder',
    nonBlockingFd,
    threadFd: blockingTwin(fd, nonBlockingFd),
    skipLoggedCopies: values['skip-logged-copies'],
  });
  const flushMs = flushAfterSeconds * 1000;
  const timer = setInterval(() => forwarder.flushPartials(flushMs), Math.min(flushMs, 1000));
  timer.unref();
  const log = stderrLog('log-forwarder');
  const channel = stdioChannel();
  const stop = (signal: NodeJS.Signals): void => {
    log('INFO', `${signal}: writing out the accepted lines, then exiting`);
    channel.stop();
    // An output that does not take the last lines must not outlive supervisord's stopwaitsecs.
    // No notice: the only place to say it is that same stuck output. Exit status 1 is in supervisord's log.
    const deadline = setTimeout(() => process.exit(1), stopWithinSeconds * 1000);
    deadline.unref();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  await runListener(channel, (event) => {
    try {
      return forwarder.handle(event);
    } catch (error) {
      // A payload we cannot parse would come back forever after a FAIL: say so once and move on.
      log('ERRO', `unreadable ${event.header.eventname} event: ${error instanceof Error ? error.message : String(error)}`);
      return 'OK';
    }
  });
  // Every accepted whole line is written. Stdin closed: unfinished lines too (nothing more comes);
  // stopped by a signal: not those (see discardPartials).
  await forwarder.drained();
  if (channel.isStopped) {
    const unfinished = forwarder.discardPartials();
    if (unfinished > 0) log('WARN', `stopping: ${unfinished} unfinished lines left out (their ends never came)`);
  } else {
    forwarder.flushPartials(0);
  }
  await forwarder.drained();
  return 0;
});
