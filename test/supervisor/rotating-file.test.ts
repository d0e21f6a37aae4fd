// Child log capture: rotation under a fast writer loses nothing and memory stays bounded;
// redirect_stderr, clear and reopen; the main log's format and rotation.
import { existsSync, readFileSync, readdirSync, renameSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MainLog } from '../../src/supervisor/main-log.js';
import { RotatingLogFile } from '../../src/supervisor/rotating-file.js';
import { waitFor } from '../support/wait.js';
import { group, processConfig, startSupervisor, supervisordConfig, tempDir, type TempDir } from './fixtures.js';

let tmp: TempDir;
beforeAll(() => {
  tmp = tempDir('logs');
});
afterAll(() => tmp.remove());

/** x.log.N … x.log.1, x.log: the whole output in the order it was written. */
function readRotated(base: string, backups: number): Buffer {
  const parts: Buffer[] = [];
  for (let index = backups; index >= 1; index--) {
    const file = `${base}.${index}`;
    if (existsSync(file)) parts.push(readFileSync(file));
  }
  if (existsSync(base)) parts.push(readFileSync(base));
  return Buffer.concat(parts);
}

function expectedSeq(count: number): string {
  let text = '';
  for (let n = 1; n <= count; n++) text += `${n}\n`;
  return text;
}

describe('child output capture', () => {
  it('rotates a fast writer by rename with no byte lost and a bounded write queue', async () => {
    const base = tmp.file('fast.log');
    const count = 600_000; // ~4.1 MB of `seq`
    const h = startSupervisor(
      supervisordConfig(tmp.dir, [
        group(
          processConfig('fast', ['seq', '1', String(count)], {
            startsecs: 0,
            autorestart: 'false',
            stdout: { kind: 'file', path: base, maxBytes: 512 * 1024, backups: 12, auto: false },
          }),
        ),
      ]),
    );
    try {
      await h.waitForLine(/^exited: fast/);
      const log = h.supervisor.processLogs('fast').stdout!;
      await waitFor('the whole output to reach the files', async () => {
        await log.flush();
        return readRotated(base, 12).length === expectedSeq(count).length;
      });
      expect(readRotated(base, 12).toString()).toBe(expectedSeq(count));
      // Rotation happened, and each rotated file is at least maxBytes (rotation after the write that crossed it).
      expect(existsSync(`${base}.7`)).toBe(true);
      expect(readFileSync(`${base}.1`).length).toBeGreaterThanOrEqual(512 * 1024);
      // The default high-water mark is 1 MiB; the queue never grows past it by more than one pipe read.
      expect(log.peakQueuedBytes).toBeLessThanOrEqual(1024 * 1024 + 256 * 1024);
    } finally {
      await h.stop();
    }
  });

  it('pauses its source while writes are pending (write() false, then drain)', async () => {
    const file = new RotatingLogFile({ path: tmp.file('hwm.log'), maxBytes: 0, backups: 0, highWaterMark: 64 * 1024 });
    const chunk = Buffer.alloc(16 * 1024, 120);
    const results: boolean[] = [];
    for (let index = 0; index < 8; index++) results.push(file.write(chunk));
    expect(results.slice(0, 3)).toEqual([true, true, true]);
    expect(results[3]).toBe(false);
    const drained = new Promise<void>((resolve) => file.once('drain', () => resolve()));
    await drained;
    await file.flush();
    expect(readFileSync(tmp.file('hwm.log')).length).toBe(8 * 16 * 1024);
    await file.close();
  });

  it('keeps only `backups` old files; backups=0 truncates instead', async () => {
    const base = tmp.file('few.log');
    const file = new RotatingLogFile({ path: base, maxBytes: 100, backups: 2 });
    for (let index = 0; index < 5; index++) file.write(Buffer.from(`${String(index).repeat(100)}`));
    await file.close();
    expect(readdirSync(tmp.dir).filter((name) => name.startsWith('few.log')).sort()).toEqual(['few.log', 'few.log.1', 'few.log.2']);
    expect(readFileSync(`${base}.1`, 'utf8')).toBe('4'.repeat(100));
    expect(readFileSync(`${base}.2`, 'utf8')).toBe('3'.repeat(100));
    expect(readFileSync(base, 'utf8')).toBe('');

    const lone = tmp.file('lone.log');
    const truncating = new RotatingLogFile({ path: lone, maxBytes: 10, backups: 0 });
    truncating.write(Buffer.from('0123456789abc'));
    truncating.write(Buffer.from('tail'));
    await truncating.close();
    expect(readFileSync(lone, 'utf8')).toBe('tail');
    expect(existsSync(`${lone}.1`)).toBe(false);
  });

  it('redirect_stderr sends both streams to the stdout log, in order', async () => {
    const out = tmp.file('merged.log');
    const err = tmp.file('never.log');
    const h = startSupervisor(
      supervisordConfig(tmp.dir, [
        group(
          processConfig('merged', ['sh', '-c', 'echo one; echo two >&2; echo three'], {
            startsecs: 0,
            autorestart: 'false',
            redirectStderr: true,
            stdout: { kind: 'file', path: out, maxBytes: 0, backups: 0, auto: false },
            stderr: { kind: 'file', path: err, maxBytes: 0, backups: 0, auto: false },
          }),
        ),
      ]),
    );
    try {
      await h.waitForLine(/^exited: merged/);
      await waitFor('merged output', () => existsSync(out) && readFileSync(out, 'utf8') === 'one\ntwo\nthree\n');
      expect(existsSync(err)).toBe(false);
      expect(h.supervisor.processInfo('merged').stderrLogfile).toBe('');
    } finally {
      await h.stop();
    }
  });

  it('separate stdout and stderr files; clear empties a running process\'s log; SIGUSR2-style reopen follows a rename', async () => {
    const out = tmp.file('ticker.out');
    const err = tmp.file('ticker.err');
    const h = startSupervisor(
      supervisordConfig(tmp.dir, [
        group(
          processConfig('ticker', ['sh', '-c', 'echo started >&2; while :; do echo tick; sleep 0.05; done'], {
            startsecs: 0,
            stdout: { kind: 'file', path: out, maxBytes: 0, backups: 0, auto: false },
            stderr: { kind: 'file', path: err, maxBytes: 0, backups: 0, auto: false },
          }),
        ),
      ]),
    );
    try {
      await waitFor('stderr line', () => existsSync(err) && readFileSync(err, 'utf8') === 'started\n');
      await waitFor('ticks', () => existsSync(out) && readFileSync(out, 'utf8').length > 20);
      await h.supervisor.clearProcessLogs('ticker');
      expect(readFileSync(err, 'utf8')).toBe('');
      renameSync(out, `${out}.moved`);
      h.supervisor.reopenLogs();
      await waitFor('a new stdout file after reopen', () => existsSync(out) && readFileSync(out, 'utf8').startsWith('tick\n'));
      expect(h.messages()).toContain('supervisord logreopen');
    } finally {
      await h.stop();
    }
  });
});

describe('strip_ansi', () => {
  it('removes colour escapes from child output like supervisord\'s stripEscapes', async () => {
    const out = tmp.file('colour.log');
    const config = supervisordConfig(tmp.dir, [
      group(
        processConfig('colour', ['printf', '\\033[1;31mred\\033[0m plain \\033[2Kcafé\\n'], {
          startsecs: 0,
          autorestart: 'false',
          stdout: { kind: 'file', path: out, maxBytes: 0, backups: 0, auto: false },
        }),
      ),
    ]);
    config.supervisord.stripAnsi = true;
    const h = startSupervisor(config);
    try {
      await h.waitForLine(/^exited: colour/);
      await waitFor('the stripped line', () => existsSync(out) && readFileSync(out, 'utf8') === 'red plain café\n');
    } finally {
      await h.stop();
    }
  });
});

describe('main log', () => {
  it("uses supervisord's format and levels, filters by loglevel and rotates", () => {
    const file = tmp.file('main.log');
    const log = new MainLog({ level: 'info', file, maxBytes: 100, backups: 1, toStdout: false });
    log.debug('not shown');
    log.info("spawned: 'api' with pid 10");
    log.warn('exited: api (exit status 3; not expected)');
    log.critical('something');
    // 100 bytes: the second line crossed the limit, so lines 1-2 are in main.log.1 and line 3 in main.log.
    expect(readFileSync(`${file}.1`, 'utf8').split('\n').filter(Boolean)).toHaveLength(2);
    const lines = [...readFileSync(`${file}.1`, 'utf8').split('\n'), ...readFileSync(file, 'utf8').split('\n')].filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO spawned: 'api' with pid 10$/);
    expect(lines[1]).toMatch(/ WARN exited: api \(exit status 3; not expected\)$/);
    expect(lines[2]).toMatch(/ CRIT something$/);
    log.close();
  });
});
