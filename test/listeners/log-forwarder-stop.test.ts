// The log forwarder's two edges with a real supervisord (both daemons):
// - stopped right after a writer's burst (supervisord shut down), it writes out every line it accepted
//   and exits 0: each line in the program's own log file reached supervisord's stdout too, whole;
// - while supervisord writes its own lines to the same stdout (another program's state changes, many a
//   second), a fast writer's forwarded lines are never torn: every line is supervisord's or whole ours.
import { writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { DAEMONS, daemonStarter, describeDaemon, listenerProgram, type RunningDaemon } from './harness.js';
import { fastLineWriter, SUPERVISORD_LINE } from './writers.js';

/** `count` numbered lines as fast as the pipe takes them (JSON and plain, up to 3 KB), then `writer done` on stderr. */
const NUMBERED_WRITER = fastLineWriter(`
function line(n) {
  if (n % 2 === 1) return JSON.stringify({ seq: n, msg: 'json ' + n, pad: 'j'.repeat(n % 13 === 0 ? 3000 : 30) });
  return 'plain ' + n + ' ' + 'x'.repeat(n % 11 === 0 ? 3000 : 40) + ' end';
}
`);

/** The writer's line `seq` as it is in its log file: whole, checked against what it wrote. */
function writerSeq(line: string): number | null {
  if (line.startsWith('{')) {
    const parsed = JSON.parse(line) as { seq?: unknown; msg?: unknown; pad?: unknown };
    if (typeof parsed.seq !== 'number' || parsed.msg !== `json ${parsed.seq}`) return null;
    return typeof parsed.pad === 'string' && parsed.pad.length === (parsed.seq % 13 === 0 ? 3000 : 30) ? parsed.seq : null;
  }
  const plain = /^plain (\d+) (x+) end$/.exec(line);
  if (!plain) return null;
  const seq = Number(plain[1]);
  return plain[2]?.length === (seq % 11 === 0 ? 3000 : 40) ? seq : null;
}

/**
 * The writer's seqs on supervisord's stdout. Every line must be supervisord's own, the forwarder's, or
 * a whole forwarded writer line (a JSON line parses as JSON): anything else is a torn line, and throws.
 */
function forwardedSeqs(stdout: string): number[] {
  const seqs: number[] = [];
  const lines = stdout.split('\n');
  // The last piece has no newline yet: it may still be arriving.
  for (const line of lines.slice(0, -1)) {
    if (line === '' || SUPERVISORD_LINE.test(line)) continue;
    let seq: number | null = null;
    if (line.startsWith('{')) {
      // Parses as JSON, and is the writer's own line with our two keys in front.
      const parsed = JSON.parse(line) as { program?: unknown; stream?: unknown };
      expect([parsed.program, parsed.stream]).toEqual(['writer', 'stdout']);
      const ours = '{"program":"writer","stream":"stdout",';
      seq = line.startsWith(ours) ? writerSeq(`{${line.slice(ours.length)}`) : null;
    } else if (line.startsWith('writer | ')) {
      seq = writerSeq(line.slice('writer | '.length));
    } else if (/^(writer \(stderr\)|flapper|flapper \(stderr\)) \| /.test(line) || /^\S+ [A-Z]{4} log-forwarder: /.test(line)) {
      continue;
    }
    if (seq === null) throw new Error(`torn or foreign line on supervisord's stdout: ${JSON.stringify(line.slice(0, 300))}`);
    seqs.push(seq);
  }
  return seqs;
}

/** supervisord's stdout once it has exited: read up to its line about the forwarder's exit. */
function settledStdout(running: RunningDaemon): Promise<string> {
  return waitFor('supervisord stdout up to the forwarder stopping', () => {
    const text = running.stdout();
    return /stopped: log-forwarder \([^)]*\)\n/.test(text) ? text : false;
  });
}

function sections(writer: string, count: number, extra = ''): string {
  return `
[program:writer]
command=${process.execPath} ${writer} ${count}
startsecs=0
stdout_logfile=%(here)s/writer.out.log
stderr_logfile=%(here)s/writer.err.log
stdout_events_enabled=true
stderr_events_enabled=true
${extra}
[eventlistener:log-forwarder]
command=${process.execPath} ${listenerProgram('log-forwarder')}
events=PROCESS_LOG
buffer_size=1024
stderr_logfile=/dev/stdout
stderr_logfile_maxbytes=0
`;
}

for (const peer of DAEMONS) {
  describeDaemon(peer, 'log forwarder, stop and shared stdout', () => {
    const start = daemonStarter(peer);
    let daemon: RunningDaemon | null = null;
    afterEach(async () => {
      await daemon?.stop();
      daemon = null;
    });

    it('writes out every accepted line and exits 0 when supervisord stops right after a burst', async () => {
      const count = 20_000;
      daemon = await start('fwd-stop', (dir) => {
        const writer = dir.file('writer.js');
        writeFileSync(writer, NUMBERED_WRITER);
        return sections(writer, count);
      });
      const running = daemon;
      await waitFor('the writer done', () => running.read('writer.err.log').includes('writer done'), { timeoutMs: 50_000, intervalMs: 50 });
      // The forwarder is up (it has written a line): on a loaded machine the writer can finish its burst before
      // the listener has started, and a listener stopped before its first event forwards nothing to check.
      await waitFor('the first forwarded line', () => forwardedSeqs(running.stdout()).length > 0, { timeoutMs: 50_000, intervalMs: 10 });
      // Shut supervisord down at once: the forwarder has lines queued and events in flight.
      running.launched.child.kill('SIGTERM');
      await running.launched.exited;
      const fileSeqs = running
        .read('writer.out.log')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => writerSeq(line));
      expect(fileSeqs.length).toBe(count);
      // It exited by itself, with 0, not killed by the signal.
      await waitFor('the forwarder stopped', () => /stopped: log-forwarder \((exit status|terminated)/.test(running.mainLog()));
      expect(running.mainLog()).toMatch(/stopped: log-forwarder \(exit status 0\)/);
      if (peer === 'real') {
        // Debian's supervisord discards the events still in its pool's buffer when it stops the
        // listener (nothing a listener can do about): what did arrive is whole and once.
        const forwarded = forwardedSeqs(await settledStdout(running));
        expect(forwarded.length).toBeGreaterThan(0);
        expect(new Set(forwarded).size).toBe(forwarded.length);
        return;
      }
      // Ours delivers its pool's buffer before stopping the listener: every file line, once and whole.
      const last = fileSeqs[fileSeqs.length - 1];
      const forwarded = await waitFor('the last file line on stdout', () => {
        const seqs = forwardedSeqs(running.stdout());
        return seqs.includes(last ?? -1) ? seqs : false;
      });
      const missing = fileSeqs.filter((seq) => seq === null || !forwarded.includes(seq));
      expect(missing).toEqual([]);
      expect(new Set(forwarded).size).toBe(forwarded.length);
    });

    it('never lets supervisord tear a forwarded line, even while it logs state changes', async () => {
      const count = 30_000;
      daemon = await start('fwd-tear', (dir) => {
        const writer = dir.file('writer.js');
        writeFileSync(writer, NUMBERED_WRITER);
        // A program that exits at once and is restarted at once: supervisord logs spawned/success/exited lines all along.
        const flapper = `
[program:flapper]
command=/bin/true
startsecs=0
autorestart=true
startretries=1000000
stdout_logfile=NONE
stderr_logfile=NONE
`;
        return sections(writer, count, flapper);
      });
      const running = daemon;
      const seqs = await waitFor('every writer line on stdout', () => {
        const found = forwardedSeqs(running.stdout());
        return found.length >= count ? found : false;
      }, { timeoutMs: 50_000, intervalMs: 200 });
      expect(new Set(seqs).size).toBe(count);
      // supervisord did log its own lines meanwhile, onto the same stdout.
      expect(running.stdout().match(/INFO exited: flapper/g)?.length ?? 0).toBeGreaterThan(5);
    });
  });
}
