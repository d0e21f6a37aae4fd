// The same config under the real supervisord (Debian's /usr/bin/supervisord 4.2.5) and ours, side
// by side: per program, the same sequence of main-log events, and the same backoff waits within
// scheduling noise (the real one acts on a 1 s tick).
//
// Intended differences (asserted where they show):
//  - ours acts on events: an autorestart follows the exit at once (real: on the next tick, ~1 s),
//    and FATAL follows the last failed start at once (real: one tick later);
//  - ours reaps before promoting (reference §2.4), so the race the real one has with instantly
//    exiting children cannot happen; the programs here avoid that race so both agree.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { describeWithPeers, launcher, REAL_SUPERVISORD, supervisordCommand, tempDirForFile } from './fixtures.js';

/** Scheduling noise on a loaded machine; the real supervisord adds up to one 1 s tick on top. */
const NOISE_MS = 400;
const TICK_MS = 1000;

const tmp = tempDirForFile('compare');
const launch = launcher();

interface Event {
  at: number;
  level: string;
  message: string;
}

function parseMainLog(text: string): Event[] {
  const events: Event[] = [];
  for (const line of text.split('\n')) {
    const match = /^(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d),(\d{3}) (\w{4}) (.*)$/.exec(line);
    if (!match) continue;
    const [, y, mo, d, h, mi, s, ms, level, message] = match;
    events.push({ at: new Date(+y!, +mo! - 1, +d!, +h!, +mi!, +s!, +ms!).getTime(), level: level!, message: message! });
  }
  return events;
}

const CONFIG = (dir: string, stubbornScript: string): string => `[supervisord]
logfile=${dir}/supervisord.log
pidfile=${dir}/supervisord.pid
childlogdir=${dir}
nodaemon=true
silent=true

[program:fail]
command=sh -c 'sleep 0.3; exit 1'
startsecs=3
startretries=2

[program:exit0]
command=sh -c 'sleep 1.5; exit 0'
startsecs=1

[program:exit3]
command=sh -c 'sleep 1.5; exit 3'
startsecs=1

[program:never]
command=sh -c 'sleep 1.5; exit 5'
startsecs=1
autorestart=false

[program:nofile]
command=/nonexistent/bin
startretries=1

[program:stubborn]
command=${stubbornScript}
startsecs=0
stopwaitsecs=1

[program:oneshot]
command=sh -c 'exit 0'
startsecs=0
autorestart=false

[program:manual]
command=sleep 100
autostart=false
`;

/** A program's events, pids and the list in "waiting for … to die" normalised away. */
function timeline(events: Event[], name: string): Event[] {
  const mentions = new RegExp(`(^|[ '])${name}([ ']|$)`);
  return events
    .filter((event) => mentions.test(event.message) && !event.message.startsWith('waiting for'))
    .map((event) => ({ ...event, message: event.message.replace(/\d{2,}/g, 'N') }));
}

function messages(events: Event[]): string[] {
  return events.map((event) => `${event.level} ${event.message}`);
}

/** The wait between each `exited` and the `spawned` after it. */
function retryWaits(events: Event[]): number[] {
  const waits: number[] = [];
  events.forEach((event, index) => {
    const next = events[index + 1];
    if (event.message.startsWith('exited:') && next?.message.startsWith('spawned:')) waits.push(next.at - event.at);
  });
  return waits;
}

async function runBoth(): Promise<{ real: Event[]; ours: Event[] }> {
  const stubborn = tmp.script('stubborn.sh', "trap '' TERM\nwhile :; do sleep 0.1; done");
  const dirs = { real: tmp.file('real'), ours: tmp.file('ours') };
  const runs = (['real', 'ours'] as const).map((peer) => {
    const dir = dirs[peer];
    mkdirSync(dir);
    writeFileSync(`${dir}/supervisord.conf`, CONFIG(dir, stubborn));
    const { child, exited } = launch(...supervisordCommand(peer, ['-n', '-c', `${dir}/supervisord.conf`]));
    const log = (): Event[] => (existsSync(`${dir}/supervisord.log`) ? parseMainLog(readFileSync(`${dir}/supervisord.log`, 'utf8')) : []);
    return { child, exited, log };
  });
  // Run until the slowest scenario (fail: 3 spawns, waits of 1 s and 2 s, then FATAL) is over.
  await Promise.all(
    runs.map((run) =>
      waitFor(
        'every scenario to play out',
        () => {
          const text = messages(run.log()).join('\n');
          return /gave up: fail/.test(text) && /gave up: nofile/.test(text) && (text.match(/spawned: 'exit3'/g) ?? []).length >= 2;
        },
        { timeoutMs: 30_000 },
      ),
    ),
  );
  for (const run of runs) run.child.kill('SIGTERM');
  const codes = await Promise.all(runs.map((run) => run.exited));
  expect(codes).toEqual([0, 0]);
  return { real: runs[0]!.log(), ours: runs[1]!.log() };
}

describeWithPeers([REAL_SUPERVISORD])('ours vs the real supervisord', () => {
  it('same state sequences per program, same backoff timing within noise', async () => {
    const { real, ours } = await runBoth();

    for (const name of ['fail', 'exit0', 'never', 'nofile', 'stubborn', 'manual']) {
      expect.soft(messages(timeline(ours, name)), name).toEqual(messages(timeline(real, name)));
    }
    expect(messages(timeline(ours, 'fail'))).toEqual([
      "INFO spawned: 'fail' with pid N",
      'WARN exited: fail (exit status 1; not expected)',
      "INFO spawned: 'fail' with pid N",
      'WARN exited: fail (exit status 1; not expected)',
      "INFO spawned: 'fail' with pid N",
      'WARN exited: fail (exit status 1; not expected)',
      'INFO gave up: fail entered FATAL state, too many start retries too quickly',
    ]);
    // startsecs=0 and an instant exit: the real one usually promotes before it reaps (success, then
    // exited) but can reap in the spawning tick (no success line). Ours always does the former.
    const oneshot = ["INFO spawned: 'oneshot' with pid N", 'INFO success: oneshot entered RUNNING state, process has stayed up for > than 0 seconds (startsecs)', 'INFO exited: oneshot (exit status 0; expected)'];
    expect(messages(timeline(ours, 'oneshot'))).toEqual(oneshot);
    expect([oneshot, [oneshot[0], oneshot[2]]]).toContainEqual(messages(timeline(real, 'oneshot')));
    expect(messages(timeline(ours, 'stubborn')).slice(-2)).toEqual([
      "WARN killing 'stubborn' (N) with SIGKILL",
      'WARN stopped: stubborn (terminated by SIGKILL)',
    ]);

    // Backoff: 1 s then 2 s after each early exit, in both.
    const realWaits = retryWaits(timeline(real, "fail"));
    const ourWaits = retryWaits(timeline(ours, 'fail'));
    expect(realWaits).toHaveLength(2);
    expect(ourWaits).toHaveLength(2);
    // The real one retries on the first tick after the delay: N s plus up to one tick (seen: 1007 and
    // 2389 ms). Ours retries when the delay is over: N s plus scheduling noise only.
    realWaits.forEach((wait, index) => {
      expect(wait).toBeGreaterThanOrEqual((index + 1) * 1000 - 50);
      expect(wait).toBeLessThan((index + 1) * 1000 + TICK_MS + NOISE_MS);
    });
    ourWaits.forEach((wait, index) => {
      expect(Math.abs(wait - (index + 1) * 1000)).toBeLessThan(NOISE_MS);
      expect(wait).toBeLessThan(realWaits[index]! + NOISE_MS);
    });

    // exit3 restarts forever in both; the first cycle matches, and ours restarts at once.
    expect(messages(timeline(ours, 'exit3')).slice(0, 4)).toEqual(messages(timeline(real, 'exit3')).slice(0, 4));
    const [ourRestart] = retryWaits(timeline(ours, 'exit3'));
    const [realRestart] = retryWaits(timeline(real, 'exit3'));
    expect(ourRestart).toBeLessThan(300);
    // The real one restarts on its next tick: usually ~1 s, a few ms when another fd event wakes it.
    expect(realRestart).toBeLessThan(TICK_MS + NOISE_MS);

    // Shutdown: both announce it and stop the stubborn one with SIGKILL after stopwaitsecs.
    for (const log of [real, ours]) expect(messages(log)).toContain('WARN received SIGTERM indicating exit request');
  });
});
