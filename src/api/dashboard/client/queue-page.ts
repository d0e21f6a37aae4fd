/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The Queue page: the account's RunningHub slots and what holds them, the backlog and its oldest age, the
// last hour's throughput and failures (uPlot), failures grouped by error, the live processors.
import type uPlot from 'uplot';
import { call } from './api.js';
import { age, h, secondsBetween, statusBadge, swap, time } from './dom.js';
import type { Failures, PageContext, Queue, View } from './types.js';

/**
 * The Queue page also refreshes on its own this often: an account's pause and resume, heartbeats and
 * ages are no task events, so neither SSE nor a quiet queue would otherwise show them.
 */
export const QUEUE_REFRESH_MS = 5000;

function chart(title: string, color: string): { element: HTMLElement; update(minutes: Queue['lastHour'], values: number[]): void } {
  const box = h('div', { class: 'chart', role: 'img', 'aria-label': title });
  const caption = h('p', { class: 'chart-caption' });
  const element = h('figure', { class: 'chart-figure' }, box, h('figcaption', {}, caption));
  let plot: uPlot | null = null;
  let loading = false;
  return {
    element,
    update(minutes, values) {
      const xs = minutes.map((m) => Date.parse(m.minute) / 1000);
      const total = values.reduce((a, b) => a + b, 0);
      caption.textContent = `${title}: ${total} in the last hour, ${values.at(-1) ?? 0} this minute`;
      box.setAttribute('aria-label', caption.textContent);
      if (plot) {
        plot.setData([xs, values]);
        return;
      }
      if (loading) return;
      loading = true;
      // uPlot is a chunk of its own, loaded after the page's data is shown (the Tasks page never needs it).
      loadUPlot().then(
        (UPlot) => {
          const width = Math.max(240, Math.min(480, (element.parentElement?.clientWidth ?? 320) - 16));
          plot = new UPlot(
            {
              width,
              height: 120,
              legend: { show: false },
              cursor: { show: false },
              scales: { y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
              axes: [{ size: 28 }, { size: 36 }],
              series: [{}, { stroke: color, fill: `${color}33`, width: 2 }],
            },
            [xs, values],
            box,
          );
        },
        // The caption still says it in words; the next refresh tries again.
        () => {
          loading = false;
        },
      );
    },
  };
}

async function loadUPlot(): Promise<typeof uPlot> {
  return (await import('uplot')).default;
}

export function mountQueue(main: HTMLElement, ctx: Pick<PageContext, 'refresh'>): View {
  // Above everything else: while an account is paused nothing is submitted, whatever the rest shows.
  const pauses = h('div');
  const slots = h('div');
  const backlog = h('div');
  const processors = h('div');
  const failures = h('div');
  const throughput = chart('Tasks succeeded per minute', '#1a7f37');
  const failed = chart('Tasks failed per minute', '#cf222e');
  main.replaceChildren(
    h('h1', {}, 'Queue'),
    pauses,
    h('div', { class: 'grid2' },
      h('section', { 'aria-labelledby': 'slots-h', class: 'card' }, h('h2', { id: 'slots-h' }, 'RunningHub slots'), slots),
      h('section', { 'aria-labelledby': 'backlog-h', class: 'card' }, h('h2', { id: 'backlog-h' }, 'Backlog'), backlog),
    ),
    h('section', { 'aria-labelledby': 'hour-h', class: 'card' },
      h('h2', { id: 'hour-h' }, 'The last hour'),
      h('div', { class: 'charts' }, throughput.element, failed.element),
    ),
    h('section', { 'aria-labelledby': 'failures-h', class: 'card' }, h('h2', { id: 'failures-h' }, 'Failures (24 h)'), failures),
    h('section', { 'aria-labelledby': 'processors-h', class: 'card' }, h('h2', { id: 'processors-h' }, 'Task processors'), processors),
  );

  const renderSlots = (queue: Queue): Node[] => {
    if (queue.accounts.length === 0) return [h('p', { class: 'muted' }, 'No RunningHub account yet: it appears when a task processor starts.')];
    return queue.accounts.map((account) => {
      const cells: Node[] = [];
      for (let i = 0; i < Math.max(account.maxRunning, account.holders.length); i++) {
        const holder = account.holders[i];
        cells.push(
          holder
            ? h('li', { class: `slot busy phase-${holder.phase}` },
                h('a', { href: `#/tasks/${holder.taskId}`, 'data-key': `slot-${holder.taskId}` }, holder.entityName),
                h('span', { class: 'slot-phase' }, holder.phase === 'claimed' ? 'submitting' : holder.phase === 'cancelRequested' ? 'cancelling' : 'at RunningHub'),
                h('span', { class: 'muted' }, holder.submittedAt ? `for ${age(secondsBetween(holder.submittedAt, queue.now))}` : `by ${holder.claimedBy ?? '?'}`),
              )
            : h('li', { class: 'slot free' }, 'free'),
        );
      }
      return h('div', { class: 'account' },
        h('p', {}, `Account ${account.account}: `, h('strong', { 'data-testid': 'slots-in-use' }, `${account.running} of ${account.maxRunning}`), ' in use'),
        h('ul', { class: 'gauge', role: 'meter', 'aria-label': `RunningHub slots in use, account ${account.account}`, 'aria-valuemin': 0, 'aria-valuemax': account.maxRunning, 'aria-valuenow': account.running }, cells),
      );
    });
  };

  const renderPauses = (queue: Queue): Node[] =>
    queue.accounts.flatMap((account) => {
      const pause = account.pause;
      if (!pause) return [];
      return [
        h('section', { class: 'card error-box pause-banner', role: 'alert', 'data-testid': 'account-pause', 'aria-labelledby': `pause-h-${account.account}` },
          h('h2', { id: `pause-h-${account.account}` }, `Account ${account.account} is paused: no task is submitted`),
          h('p', {}, 'RunningHub refused a task for lack of balance; tasks stay waiting until a balance check finds coins again.'),
          h('dl', { class: 'facts' },
            h('dt', {}, 'Paused since'), h('dd', {}, `${time(pause.pausedAt)} (${age(secondsBetween(pause.pausedAt, queue.now))} ago)`),
            h('dt', {}, 'Code'), h('dd', {}, h('code', { 'data-testid': 'pause-code' }, pause.code)),
            h('dt', {}, 'Reason'), h('dd', { 'data-testid': 'pause-reason' }, pause.reason || '—'),
            h('dt', {}, 'Balance checks so far'), h('dd', {}, String(pause.checks)),
            h('dt', {}, 'Next balance check'), h('dd', {}, pause.nextCheckAt ? time(pause.nextCheckAt) : '—'),
          ),
        ),
      ];
    });

  const renderBacklog = (queue: Queue): Node[] => [
    h('dl', { class: 'facts' },
      h('dt', {}, 'Waiting'), h('dd', { 'data-testid': 'backlog-pending' }, String(queue.backlog.pending)),
      h('dt', {}, 'Due now'), h('dd', {}, String(queue.backlog.due)),
      h('dt', {}, 'Oldest waiting for'), h('dd', {}, age(queue.backlog.oldestPendingAgeSeconds)),
    ),
    h('p', {}, h('a', { href: '#/tasks?status=PENDING' }, 'The waiting tasks')),
  ];

  const renderProcessors = (queue: Queue): Node[] => {
    const consoleLink = queue.supervisorConsoleUrl
      ? [h('p', {}, h('a', { href: queue.supervisorConsoleUrl, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'supervisor-console' }, "supervisord's web console"), ' (start, stop, restart, logs)')]
      : [];
    if (queue.processors.length === 0) {
      return [h('p', { class: 'warning', role: 'alert' }, 'No task processor has sent a heartbeat in the last 30 s: nothing is being submitted.'), ...consoleLink];
    }
    return [
      ...consoleLink,
      h('div', { class: 'scroll' }, h('table', {},
        h('thead', {}, h('tr', {}, ['Processor', 'Host / pid', 'Heartbeat', 'Submitted', 'Succeeded', 'Failed', 'Errors in a row', 'Last error'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, queue.processors.map((p) => h('tr', {},
          h('td', {}, p.processorId),
          h('td', {}, `${p.host} / ${p.pid}`),
          h('td', {}, `${age(secondsBetween(p.lastBeatAt, queue.now))} ago`),
          h('td', { class: 'num' }, p.submitted), h('td', { class: 'num' }, p.succeeded), h('td', { class: 'num' }, p.failed),
          h('td', { class: 'num' }, p.consecutiveErrors),
          h('td', {}, p.lastError ?? '—'),
        ))),
      )),
    ];
  };

  const renderFailures = (data: Failures): Node[] => {
    const taskGroups = data.tasks.length === 0
      ? h('p', { class: 'muted' }, 'No task failed in the last 24 hours.')
      : h('div', { class: 'scroll' }, h('table', { 'data-testid': 'failure-groups' },
          h('caption', {}, 'Failed tasks by error'),
          h('thead', {}, h('tr', {}, ['Code', 'Message', 'Count', 'First seen', 'Last seen', 'Latest'].map((t) => h('th', { scope: 'col' }, t)))),
          h('tbody', {}, data.tasks.map((g) => h('tr', {},
            h('td', {}, h('code', {}, g.code)), h('td', {}, g.message), h('td', { class: 'num' }, g.count),
            h('td', {}, time(g.firstSeen)), h('td', {}, time(g.lastSeen)),
            h('td', {}, h('a', { href: `#/tasks/${g.latestTaskId}` }, 'open')),
          ))),
        ));
    const processorErrors = data.processorErrors.length === 0 ? null : h('div', { class: 'scroll' }, h('table', {},
      h('caption', {}, "The processors' errors"),
      h('thead', {}, h('tr', {}, ['Code', 'Message', 'Count', 'First seen', 'Last seen'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, data.processorErrors.map((e) => h('tr', {},
        h('td', {}, h('code', {}, e.code)), h('td', {}, e.message), h('td', { class: 'num' }, e.count), h('td', {}, time(e.firstSeen)), h('td', {}, time(e.lastSeen)),
      ))),
    ));
    return [taskGroups, ...(processorErrors ? [processorErrors] : []), h('p', {}, h('a', { href: '#/tasks?status=FAILED' }, 'The failed tasks'), ' ', statusBadge('FAILED'))];
  };

  // A hidden tab skips it; the first tick after it is shown again catches up.
  const timer = window.setInterval(() => {
    if (document.visibilityState === 'visible') ctx.refresh();
  }, QUEUE_REFRESH_MS);

  return {
    dispose() {
      window.clearInterval(timer);
    },
    async refresh() {
      // Both asked at once; the queue's sections are drawn as soon as it arrives, the failures when they do.
      const failuresCall = call<Failures>('/api/failures');
      failuresCall.catch(() => undefined); // awaited below; a rejection before that is not "unhandled"
      const queue = await call<Queue>('/api/queue');
      swap(pauses, JSON.stringify([queue.accounts.map((a) => a.pause), Math.floor(Date.parse(queue.now) / 10_000)]), renderPauses(queue));
      swap(slots, JSON.stringify([queue.accounts, Math.floor(Date.parse(queue.now) / 10_000)]), renderSlots(queue));
      swap(backlog, JSON.stringify([queue.backlog.pending, queue.backlog.due, Math.round(queue.backlog.oldestPendingAgeSeconds ?? -1)]), renderBacklog(queue));
      swap(processors, JSON.stringify([queue.supervisorConsoleUrl, queue.processors.map((p) => [p, Math.round(secondsBetween(p.lastBeatAt, queue.now))])]), renderProcessors(queue));
      throughput.update(queue.lastHour, queue.lastHour.map((m) => m.succeeded));
      failed.update(queue.lastHour, queue.lastHour.map((m) => m.failed));
      const failureData = await failuresCall;
      swap(failures, JSON.stringify(failureData), renderFailures(failureData));
    },
  };
}
