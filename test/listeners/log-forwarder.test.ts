// The log forwarder as an [eventlistener] of a real supervisord: every line of a fast writer reaches
// supervisord's stdout exactly once, whole, tagged with its program, JSON lines still JSON; the
// program's own log file keeps every line too.
import { writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { DAEMONS, daemonStarter, describeDaemon, listenerProgram, type RunningDaemon } from './harness.js';
import { fastLineWriter, SUPERVISORD_LINE } from './writers.js';

/** A writer of `count` lines as fast as its pipe takes them: odd lines JSON, even lines plain, some long. */
const FAST_WRITER = fastLineWriter(`
function line(n) {
  if (n % 2 === 1) return JSON.stringify({ seq: n, level: 30, msg: 'tick ' + n });
  return 'plain ' + n + ' ' + 'x'.repeat(n % 97 === 0 ? 6000 : 40) + ' end';
}
`);

/**
 * The lines as a collector joins them: a line too long for one atomic write comes as `program +| `
 * parts and ends with the program's next ` | ` line; the joined pieces are the formatted line.
 */
function joinParts(lines: string[]): string[] {
  const pending = new Map<string, string>();
  const joined: string[] = [];
  for (const line of lines) {
    const part = /^(\S+(?: \(stderr\))?) (\+?)\| (.*)$/s.exec(line);
    if (part === null || SUPERVISORD_LINE.test(line)) {
      joined.push(line);
      continue;
    }
    const [, key = '', continued, piece = ''] = part;
    const body = (pending.get(key) ?? '') + piece;
    if (continued === '+') {
      pending.set(key, body);
      continue;
    }
    pending.delete(key);
    joined.push(body.startsWith('{') ? body : `${key} | ${body}`);
  }
  return joined;
}

/** seq numbers of every forwarded writer line; throws on any line that is neither ours nor supervisord's. */
function forwardedSeqs(stdout: string): { seqs: number[]; stderrLines: string[] } {
  const seqs: number[] = [];
  const stderrLines: string[] = [];
  for (const line of joinParts(stdout.split('\n'))) {
    if (line === '' || SUPERVISORD_LINE.test(line)) continue;
    if (line.startsWith('{')) {
      const parsed = JSON.parse(line) as { program: string; stream: string; seq: number; msg: string };
      expect(parsed.program).toBe('writer');
      expect(parsed.stream).toBe('stdout');
      expect(parsed.msg).toBe(`tick ${parsed.seq}`);
      seqs.push(parsed.seq);
      continue;
    }
    const plain = /^writer \| plain (\d+) (x+) end$/.exec(line);
    if (plain) {
      const seq = Number(plain[1]);
      expect(plain[2]?.length).toBe(seq % 97 === 0 ? 6000 : 40);
      seqs.push(seq);
      continue;
    }
    const err = /^writer \(stderr\) \| (.*)$/.exec(line);
    if (err) {
      stderrLines.push(err[1] ?? '');
      continue;
    }
    throw new Error(`torn or foreign line on supervisord's stdout: ${JSON.stringify(line.slice(0, 200))}`);
  }
  return { seqs, stderrLines };
}

for (const peer of DAEMONS) {
  describeDaemon(peer, 'log forwarder', () => {
    const start = daemonStarter(peer);
    let daemon: RunningDaemon | null = null;
    afterEach(async () => {
      await daemon?.stop();
      daemon = null;
    });

    it('forwards every line of a fast writer once, whole and tagged, and the file keeps them all', async () => {
      const count = 20_000;
      daemon = await start('fwd', (dir) => {
        const writer = dir.file('writer.js');
        writeFileSync(writer, FAST_WRITER);
        return `
[program:writer]
command=${process.execPath} ${writer} ${count}
startsecs=0
stdout_logfile=%(here)s/writer.out.log
stderr_logfile=%(here)s/writer.err.log
stdout_events_enabled=true
stderr_events_enabled=true

[eventlistener:log-forwarder]
command=${process.execPath} ${listenerProgram('log-forwarder')}
events=PROCESS_LOG
buffer_size=1024
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
`;
      });
      const running = daemon;
      const { seqs, stderrLines } = await waitFor(
        'every writer line on supervisord stdout',
        () => {
          const found = forwardedSeqs(running.stdout());
          return found.seqs.length >= count && found.stderrLines.length >= 1 ? found : false;
        },
        { timeoutMs: 50_000, intervalMs: 200 },
      );
      expect(seqs.length).toBe(count);
      expect(new Set(seqs).size).toBe(count);
      expect(stderrLines).toEqual(['writer done']);
      // supervisord's own lines are there too, whole.
      expect(running.stdout()).toMatch(/INFO spawned: 'writer' with pid \d+/);
      // The program's file is written as before.
      const fileLines = running.read('writer.out.log').split('\n').filter((line) => line !== '');
      expect(fileLines.length).toBe(count);
    });

    it('counts characters as supervisord does: non-ASCII lines and group:name programs', async () => {
      daemon = await start('utf8', (dir) => {
        const script = dir.file('utf8.js');
        writeFileSync(
          script,
          `const lines = ['héllo wörld €', '漢字の行', '{"msg":"日本","n":1}', 'emoji 🚀 done'];
let i = 0;
const t = setInterval(() => { if (i < lines.length) process.stdout.write(lines[i++] + '\\n'); else clearInterval(t); }, 50);
setInterval(() => {}, 1 << 30);`,
        );
        return `
[group:web]
programs=utf8

[program:utf8]
command=${process.execPath} ${script}
startsecs=0
stdout_logfile=%(here)s/utf8.out.log
stdout_events_enabled=true

[eventlistener:log-forwarder]
command=${process.execPath} ${listenerProgram('log-forwarder')}
events=PROCESS_LOG_STDOUT
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
`;
      });
      const running = daemon;
      await waitFor('the last unicode line', () => running.stdout().includes('web:utf8 | emoji 🚀 done'));
      const forwarded = running
        .stdout()
        .split('\n')
        .filter((line) => line.startsWith('web:utf8 | ') || line.startsWith('{"program"'));
      expect(forwarded).toEqual([
        'web:utf8 | héllo wörld €',
        'web:utf8 | 漢字の行',
        '{"program":"web:utf8","stream":"stdout","msg":"日本","n":1}',
        'web:utf8 | emoji 🚀 done',
      ]);
    });
  });
}
