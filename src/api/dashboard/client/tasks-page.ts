/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The Tasks page: a filterable, paginated table (filters and cursor live in the URL's hash, so Back works
// and a view can be shared), and a task's detail with its inputs, ids, attempts, timings, outputs, error
// and actions.
import { call, keptOutputLink, showImage } from './api.js';
import { taskActions } from './actions.js';
import { age, h, secondsBetween, showPager, statusBadge, swap, time } from './dom.js';
import type { PageContext, Task, TaskPage, View } from './types.js';

const STATUSES = ['PENDING', 'ACTIVE', 'SUCCESS', 'FAILED', 'CANCELLED'] as const;
const FILTERS = ['status', 'entityType', 'entityId', 'storyboardId'] as const;
const PAGE_SIZE = 50;

export function mountTaskList(main: HTMLElement, params: URLSearchParams, ctx: PageContext, withStoryboards: boolean): View {
  const field = (name: (typeof FILTERS)[number], label: string): HTMLElement =>
    h('label', {}, label, h('input', { name, value: params.get(name) ?? '', autocomplete: 'off' }));
  // A list of statuses (`?status=FAILED,CANCELLED`, a link or the Retry flow) is an option of its own.
  const given = params.get('status') ?? '';
  const status = h('select', { name: 'status' },
    h('option', { value: '' }, 'any'),
    STATUSES.map((s) => h('option', { value: s, selected: given === s }, s)),
    given !== '' && !(STATUSES as readonly string[]).includes(given) ? h('option', { value: given, selected: true }, given.replaceAll(',', ', ')) : null,
  );
  const form = h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter tasks' },
    h('label', {}, 'Status', status),
    field('entityType', 'Entity type'),
    field('entityId', 'Entity id'),
    withStoryboards ? field('storyboardId', 'Storyboard id') : null,
    h('button', { type: 'submit', class: 'primary' }, 'Filter'),
    h('a', { href: '#/tasks', class: 'button-link' }, 'Clear'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    for (const [key, value] of new FormData(form)) if (typeof value === 'string' && value.trim() !== '') next.set(key, value.trim());
    location.hash = `#/tasks${next.size > 0 ? `?${next.toString()}` : ''}`;
  });
  const table = h('div', { class: 'scroll' });
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of tasks' });
  // Shown while the table holds its updates (swap's holdWhileAimedAt); its space is always kept, so the
  // note appearing moves nothing either.
  const heldNote = h('p', { class: 'held-note muted', 'aria-hidden': 'true' }, 'Updates wait while the pointer moves on the table.');
  main.replaceChildren(h('h1', {}, 'Tasks'), form, table, heldNote, pager);

  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of [...FILTERS, 'cursor'] as const) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }

  return {
    async refresh() {
      const page = await call<TaskPage>(`/api/tasks?${query.toString()}`);
      await ctx.ready();
      swap(table, JSON.stringify([page.items, ctx.access]), [
        page.items.length === 0
          ? h('p', { class: 'muted' }, 'No task matches.')
          : h('table', { 'data-testid': 'task-table' },
              h('caption', { class: 'visually-hidden' }, 'Tasks, newest first'),
              h('thead', {}, h('tr', {}, ['Created', 'Entity', 'Name', 'Status', 'Attempts', 'RunningHub id', 'Error', 'Actions'].map((t) => h('th', { scope: 'col' }, t)))),
              h('tbody', {}, page.items.map((task) => h('tr', { 'data-task': task.id },
                h('td', {}, time(task.createdAt)),
                h('td', {}, `${task.entityType} / ${task.entityId}`),
                h('td', {}, h('a', { href: `#/tasks/${task.id}` }, task.entityName),
                  // A shot: the way to its storyboard, where its frames are seen together.
                  task.storyboardId === null ? null : [' ', h('a', { href: `#/storyboards/${encodeURIComponent(task.storyboardId)}`, class: 'muted', 'aria-label': `Storyboard of ${task.entityName}` }, '(storyboard)')]),
                h('td', {}, statusBadge(task.status), task.cancelRequested && task.status === 'ACTIVE' ? ' cancelling' : ''),
                h('td', { class: 'num' }, `${task.attempts} / ${task.maxAttempts}`),
                h('td', {}, task.runninghubTaskId ?? '—'),
                h('td', { class: 'error-cell' }, task.error ? `${task.error.code}: ${task.error.message}` : ''),
                h('td', { class: 'actions' }, taskActions(task, ctx)),
              ))),
            ),
      ], { holdWhileAimedAt: true });
      showPager(pager, 'tasks', params, page.nextCursor);
    },
  };
}

const IMAGE = /\.(png|jpe?g|webp|gif)(\?|$)/i;

export function mountTaskDetail(main: HTMLElement, id: string, ctx: PageContext): View {
  const body = h('div');
  // A shot's page leads back to its storyboard (where a producer came from), any other task's to the list.
  const back = h('a', { href: '#/tasks' }, '← Tasks');
  main.replaceChildren(h('p', {}, back), body);
  return {
    async refresh() {
      const task = await call<Task>(`/api/tasks/${encodeURIComponent(id)}`);
      await ctx.ready();
      const storyboardHref = task.storyboardId === null ? null : `#/storyboards/${encodeURIComponent(task.storyboardId)}`;
      // A shot belongs under Storyboards, where a producer came from.
      ctx.titled(task.entityName, storyboardHref === null ? 'tasks' : 'storyboards');
      if (storyboardHref !== null && back.getAttribute('href') !== storyboardHref) {
        back.href = storyboardHref;
        back.textContent = '← Storyboard';
      }
      const fact = (term: string, value: Node | string): Node[] => [h('dt', {}, term), h('dd', {}, value)];
      swap(body, JSON.stringify([task, ctx.access]), [
        h('h1', {}, task.entityName, ' ', statusBadge(task.status)),
        h('div', { class: 'actions' }, taskActions(task, ctx)),
        task.error ? h('p', { class: 'error-box', role: 'note' }, h('strong', {}, task.error.code), `: ${task.error.message}`) : null,
        h('section', { class: 'card', 'aria-labelledby': 'ids-h' }, h('h2', { id: 'ids-h' }, 'Task'),
          h('dl', { class: 'facts' },
            fact('Id', h('code', {}, task.id)),
            fact('Entity', `${task.entityType} / ${task.entityId}`),
            storyboardHref === null ? [] : fact('Shot', h('a', { href: storyboardHref }, `${(task.shotIndex ?? 0) + 1} of its storyboard`)),
            fact(task.workflowId ? 'Workflow' : 'AI app', task.workflowId ?? task.webappId ?? '—'),
            fact('RunningHub task id', task.runninghubTaskId ?? '—'),
            fact('Status', task.cancelRequested && task.status === 'ACTIVE' ? `${task.status} (cancel requested)` : task.status),
            fact('Attempts', `${task.attempts} of ${task.maxAttempts}`),
            fact('Priority', String(task.priority)),
          )),
        h('section', { class: 'card', 'aria-labelledby': 'times-h' }, h('h2', { id: 'times-h' }, 'Timings'),
          h('dl', { class: 'facts' },
            fact('Created', time(task.createdAt)),
            fact('Runs after', time(task.runAfter)),
            fact('Submitted', task.submittedAt ? `${time(task.submittedAt)} (waited ${age(secondsBetween(task.createdAt, task.submittedAt))})` : '—'),
            fact('Finished', task.finishedAt ? `${time(task.finishedAt)}${task.submittedAt ? ` (${age(secondsBetween(task.submittedAt, task.finishedAt))} at RunningHub)` : ''}` : '—'),
            fact('Updated', time(task.updatedAt)),
          )),
        h('section', { class: 'card', 'aria-labelledby': 'inputs-h' }, h('h2', { id: 'inputs-h' }, 'Inputs'),
          task.nodeInfoList.length === 0 ? h('p', { class: 'muted' }, 'No node overrides.') : h('div', { class: 'scroll' }, h('table', {},
            h('thead', {}, h('tr', {}, ['Node', 'Field', 'Value'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, task.nodeInfoList.map((n) => h('tr', {}, h('td', {}, n.nodeId), h('td', {}, n.fieldName), h('td', { class: 'value' }, n.fieldValue)))),
          ))),
        h('section', { class: 'card', 'aria-labelledby': 'outputs-h' }, h('h2', { id: 'outputs-h' }, 'Outputs'),
          !task.outputs || task.outputs.length === 0 ? h('p', { class: 'muted' }, task.status === 'PENDING' || task.status === 'ACTIVE' ? 'None yet.' : 'None.') : h('ul', { class: 'outputs' }, task.outputs.map((o, n) => {
            // Our kept copy where there is one: RunningHub's URL expires after about a day.
            const href = typeof o.url === 'string' ? o.url : o.fileUrl;
            return h('li', {},
              IMAGE.test(o.fileUrl) || /png|jpe?g|webp|gif/i.test(o.fileType ?? '')
                ? keptOutputLink(h('a', { href, target: '_blank', rel: 'noopener' }, showImage(h('img', { alt: `Output ${n + 1} of ${task.entityName}`, loading: 'lazy', width: 160, height: 160 }), href)))
                : null,
              keptOutputLink(h('a', { href, target: '_blank', rel: 'noopener' }, `Output ${n + 1}${o.fileType ? ` (${o.fileType})` : ''}`)),
            );
          })),
        ),
      ].filter((n): n is HTMLElement => n !== null));
    },
  };
}
