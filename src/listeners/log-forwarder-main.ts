// `storyboard-log-forwarder` (dist/log-forwarder.js): an event listener for PROCESS_LOG_STDOUT/STDERR
// that writes every program line to its stderr (or --output FILE), which supervisord.conf points at
// supervisord's own stdout. See log-forwarder.ts for the line format.
//
//   [eventlistener:log-forwarder]
//   command=node /app/dist/log-forwarder.js
//   events=PROCESS_LOG
//   buffer_size=1024
//   stderr_logfile=/dev/stdout
//   stderr_logfile_maxbytes=0
import { openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { LogForwarder } from './log-forwarder.js';
import { runMain, stderrLog, stdioChannel } from './main-support.js';
import { runListener } from './protocol.js';
import { parseByteSize } from './sizes.js';

const USAGE = `usage: log-forwarder [--output FILE] [--max-buffer SIZE] [--max-line SIZE] [--write-size SIZE] [--flush-after SECONDS]
  --output FILE         append lines to FILE instead of writing them to stderr
  --max-buffer SIZE     bytes of lines waiting for the output at most, beyond it lines are dropped (default 16MB)
  --max-line SIZE       an unfinished line longer than this is written as it is (default 64KB)
  --write-size SIZE     most bytes per write, whole lines (default 64KB: stderr is a pipe only supervisord
                        reads; 4096, PIPE_BUF, keeps writes atomic when --output is shared with other writers)
  --flush-after SECONDS an unfinished line older than this is written as it is (default 2)
`;

runMain('log-forwarder', async () => {
  const { values } = parseArgs({
    options: {
      output: { type: 'string' },
      'max-buffer': { type: 'string', default: '16MB' },
      'max-line': { type: 'string', default: '64KB' },
      'write-size': { type: 'string', default: '64KB' },
      'flush-after': { type: 'string', default: '2' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const flushAfterSeconds = Number(values['flush-after']);
  if (!Number.isFinite(flushAfterSeconds) || flushAfterSeconds <= 0) throw new Error(`--flush-after: not a positive number`);
  const fd = values.output === undefined ? 2 : openSync(values.output, 'a');
  const forwarder = new LogForwarder({
    fd,
    maxQueueBytes: parseByteSize(values['max-buffer']),
    maxLineBytes: parseByteSize(values['max-line']),
    maxWriteBytes: Math.max(1, parseByteSize(values['write-size'])),
    selfName: process.env.SUPERVISOR_PROCESS_NAME ?? 'log-forwarder',
  });
  const flushMs = flushAfterSeconds * 1000;
  const timer = setInterval(() => forwarder.flushPartials(flushMs), Math.min(flushMs, 1000));
  timer.unref();
  const log = stderrLog('log-forwarder');
  await runListener(stdioChannel(), (event) => {
    try {
      return forwarder.handle(event);
    } catch (error) {
      // A payload we cannot parse would come back forever after a FAIL: say so once and move on.
      log('ERRO', `unreadable ${event.header.eventname} event: ${error instanceof Error ? error.message : String(error)}`);
      return 'OK';
    }
  });
  // supervisord closed our stdin (it is stopping us): what was read is still written, unfinished lines too.
  await forwarder.drained();
  forwarder.flushPartials(0);
  await forwarder.drained();
  return 0;
});
