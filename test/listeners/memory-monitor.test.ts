// The memory monitor as an [eventlistener] of a real supervisord, with a real child that allocates
// past its limit: restarted, the figure logged, and a second restart inside the backoff window deferred.
import { writeFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { DAEMONS, daemonStarter, describeDaemon, listenerProgram, type RunningDaemon } from './harness.js';

/** Grows its resident memory by 8 MB every 100 ms up to 200 MB (touched pages, so RSS really grows). */
const HOG = `
const held = [];
const grow = setInterval(() => {
  if (held.length >= 25) return clearInterval(grow);
  held.push(Buffer.alloc(8 * 1024 * 1024, 1));
}, 100);
setInterval(() => {}, 1 << 30);
`;

/** A pid from getProcessInfo. */
async function pidOf(daemon: RunningDaemon, name: string): Promise<number> {
  const info = (await daemon.client.call('supervisor.getProcessInfo', [name])) as { pid: number; state: number };
  return info.state === 20 ? info.pid : 0;
}

for (const peer of DAEMONS) {
  describeDaemon(peer, 'memory monitor', () => {
    const start = daemonStarter(peer);
    let daemon: RunningDaemon | null = null;
    afterEach(async () => {
      await daemon?.stop();
      daemon = null;
    });

    it('restarts a program above its limit, logs the figure, and backs off when it comes back', async () => {
      daemon = await start('memmon', (dir) => {
        writeFileSync(dir.file('hog.js'), HOG);
        return `
[program:hog]
command=${process.execPath} ${dir.file('hog.js')}
startsecs=0
stopwaitsecs=5

[program:small]
command=${process.execPath} -e "setInterval(() => {}, 1 << 30)"
startsecs=0

[eventlistener:memmon]
command=${process.execPath} ${listenerProgram('memory-monitor')} -p hog=80MB -a 1GB --interval 0.5 --backoff 600
events=TICK_5
stderr_logfile=%(here)s/memmon.log
`;
      });
      const running = daemon;
      const firstPid = await waitFor('hog running', () => pidOf(running, 'hog'));
      const smallPid = await waitFor('small running', () => pidOf(running, 'small'));
      const restartLine = await waitFor('the restart line', () =>
        /WARN memmon: restarting hog \(pid (\d+)\) resident memory ([\d.]+)MB above its limit 80\.0MB/.exec(running.read('memmon.log')) ?? false,
      );
      expect(Number(restartLine[1])).toBe(firstPid);
      expect(Number(restartLine[2])).toBeGreaterThan(80);
      const secondPid = await waitFor('hog running again with a new pid', async () => {
        const pid = await pidOf(running, 'hog');
        return pid !== 0 && pid !== firstPid ? pid : false;
      });
      // The listener's stderr reaches the file through supervisord: poll for it.
      await waitFor('the restarted line', () => running.read('memmon.log').includes('INFO memmon: restarted hog'));
      // supervisord's own log has the stop and the start.
      expect(running.mainLog()).toMatch(/stopped: hog \(terminated by SIGTERM\)/);
      // It grows past the limit again: the second restart waits (backoff 600 s), the program is left running.
      await waitFor('the deferral line', () => /restart 2 in a row, waiting \d+s before it \(backoff\)/.test(running.read('memmon.log')));
      expect(await pidOf(running, 'hog')).toBe(secondPid);
      expect(running.read('memmon.log').match(/restarting hog/g)?.length).toBe(1);
      // A program under its limit (-a 1GB) is left alone.
      expect(await pidOf(running, 'small')).toBe(smallPid);
    });
  });
}
