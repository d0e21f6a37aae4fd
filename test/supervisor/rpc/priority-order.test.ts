// "all" and group operations order processes by the priorities in effect: those of the running
// processes, not of a file that `reread` has read but `update` has not applied (supervisord sorts
// its live process groups and processes by their own configs, rpcinterface._getAllProcesses).
// Checked on the real supervisord and ours with the same config. With wait=false each operation is
// started in that order and its result appended at once, so the result order is the order used.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '../../support/wait.js';
import { configText, describeWithRealPeers, startDaemons, states, type Daemon } from '../ctl/harness.js';

/** Names sort alpha < beta < gamma; the priorities run the other way, so the two orders differ. */
function programs(priority: { alpha: number; beta: number; gamma: number; solo: number; last: number }): string {
  const program = (name: string, value: number): string => `[program:${name}]\ncommand=sleep infinity\nstartsecs=0\npriority=${value}\n`;
  return [
    '[group:grp]\nprograms=alpha,beta,gamma\npriority=100\n',
    program('alpha', priority.alpha),
    program('beta', priority.beta),
    program('gamma', priority.gamma),
    program('solo', priority.solo),
    program('last', priority.last),
  ].join('\n');
}

const IN_EFFECT = programs({ alpha: 30, beta: 20, gamma: 10, solo: 5, last: 500 });
// Every priority swapped: applied, this file would order last, grp (alpha, beta, gamma), solo.
const REREAD_ONLY = programs({ alpha: 10, beta: 20, gamma: 30, solo: 500, last: 5 });
const OLD_ORDER = ['solo', 'grp:gamma', 'grp:beta', 'grp:alpha', 'last'];
const ALL = [...OLD_ORDER].sort();

type Result = { name: string; group: string; status: number };
const namesOf = (results: Result[]): string[] => results.map((r) => (r.group === r.name ? r.name : `${r.group}:${r.name}`));

describeWithRealPeers('operation order after reread without update (real and our supervisord)', () => {
  let daemons: Daemon[] = [];

  beforeAll(async () => {
    daemons = await startDaemons(['real', 'ours'], () => ({ programs: IN_EFFECT }));
    for (const daemon of daemons) {
      await waitFor(`every program RUNNING on ${daemon.kind}`, async () => {
        const current = await states(daemon.client);
        return ALL.every((name) => current[name] === 'RUNNING');
      });
      await daemon.writeConfig(configText({ programs: REREAD_ONLY }));
      const [added, changed = [], removed] = ((await daemon.client.call('supervisor.reloadConfig')) as string[][][])[0] ?? [];
      expect({ added, changed: [...changed].sort(), removed }, `${daemon.kind}: the reread sees the new priorities`).toEqual({
        added: [],
        changed: ['grp', 'last', 'solo'],
        removed: [],
      });
    }
  });

  afterAll(async () => {
    await Promise.all(daemons.map((daemon) => daemon.stop()));
  });

  it('stopAllProcesses and startAllProcesses follow the running processes\' priorities', async () => {
    for (const daemon of daemons) {
      const stopped = (await daemon.client.call('supervisor.stopAllProcesses', [false])) as Result[];
      expect(namesOf(stopped), `${daemon.kind}: stop all`).toEqual(OLD_ORDER);
      expect(stopped.every((r) => r.status === 80), `${daemon.kind}: every stop succeeded`).toBe(true);
      await waitFor(`every program STOPPED on ${daemon.kind}`, async () => {
        const current = await states(daemon.client);
        return ALL.every((name) => current[name] === 'STOPPED');
      });
      const started = (await daemon.client.call('supervisor.startAllProcesses', [false])) as Result[];
      expect(namesOf(started), `${daemon.kind}: start all`).toEqual(OLD_ORDER);
      await waitFor(`every program RUNNING again on ${daemon.kind}`, async () => {
        const current = await states(daemon.client);
        return ALL.every((name) => current[name] === 'RUNNING');
      });
    }
  });

  it('stopProcessGroup orders the group\'s processes by their running priorities', async () => {
    for (const daemon of daemons) {
      const stopped = (await daemon.client.call('supervisor.stopProcessGroup', ['grp', false])) as Result[];
      expect(namesOf(stopped), `${daemon.kind}: stop grp:*`).toEqual(['grp:gamma', 'grp:beta', 'grp:alpha']);
    }
  });
});
