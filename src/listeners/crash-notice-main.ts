// `storyboard-crash-notice` (dist/crash-notice.js): subscribe it to PROCESS_STATE_EXITED and
// PROCESS_STATE_FATAL (or PROCESS_STATE). The webhook URL and the body shape come from the command line
// or, when it has none, from CRASH_NOTICE_URL / CRASH_NOTICE_FORMAT; with no URL at all it stays idle.
import { parseArgs } from 'node:util';
import { CrashNotifier, NOTICE_FORMATS, type NoticeFormat } from './crash-notice.js';
import { idle, runMain, stderrLog, stdioChannel } from './main-support.js';
import { runListener } from './protocol.js';
import { supervisorApiFromEnv } from './rpc.js';

const USAGE = `usage: crash-notice [--url URL] [--format plain|feishu|dingtalk|slack] [--attempts N] [--retry-after SECONDS] [--lines N]
  --url URL             webhook to POST to (default: CRASH_NOTICE_URL; none = idle)
  --format FORMAT       body shape: plain JSON (default), or a Feishu/Lark, DingTalk or Slack bot message (default: CRASH_NOTICE_FORMAT)
  --attempts N          attempts per notice (default 6)
  --retry-after SECONDS first retry delay, doubled for each further one, at most 60 s (default 1)
  --lines N             last stderr lines in the notice (default 20)
`;

function isFormat(text: string): text is NoticeFormat {
  return (NOTICE_FORMATS as readonly string[]).includes(text);
}

runMain('crash-notice', async () => {
  const { values } = parseArgs({
    options: {
      url: { type: 'string', default: process.env.CRASH_NOTICE_URL ?? '' },
      format: { type: 'string', default: process.env.CRASH_NOTICE_FORMAT || 'plain' },
      attempts: { type: 'string', default: '6' },
      'retry-after': { type: 'string', default: '1' },
      lines: { type: 'string', default: '20' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = stderrLog('crash-notice');
  const channel = stdioChannel();
  if (values.url === '') {
    log('INFO', 'no webhook set (CRASH_NOTICE_URL is empty): idle');
    await idle(channel);
    return 0;
  }
  const url = new URL(values.url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error(`--url: not an http(s) URL: ${values.url}`);
  if (!isFormat(values.format)) throw new Error(`--format: one of ${NOTICE_FORMATS.join(', ')}, not ${values.format}`);
  const attempts = Number(values.attempts);
  const retryAfter = Number(values['retry-after']);
  const lines = Number(values.lines);
  if (!Number.isInteger(attempts) || attempts < 1) throw new Error('--attempts: a whole number ≥ 1');
  if (!Number.isFinite(retryAfter) || retryAfter < 0) throw new Error('--retry-after: a number of seconds ≥ 0');
  if (!Number.isInteger(lines) || lines < 0) throw new Error('--lines: a whole number ≥ 0');
  const notifier = new CrashNotifier(
    { url: url.href, format: values.format, attempts, retryBaseMs: retryAfter * 1000, retryMaxMs: 60_000, timeoutMs: 10_000, stderrLines: lines, maxPending: 100 },
    supervisorApiFromEnv(),
    log,
  );
  log('INFO', `posting ${values.format} notices of unexpected exits and FATAL states to ${url.origin}`);
  await runListener(channel, (event) => notifier.handle(event), (error) => log('ERRO', `bad event: ${String(error)}`));
  await notifier.idle();
  return 0;
});
