/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The Storyboards pages, shown only when the api has /api/storyboards (another branch adds it). Their
// replies are read defensively (a storyboard's name, id and shot counts under the names that branch may
// use), and a storyboard's shots are its tasks (GET /api/tasks?storyboardId=).
import { ApiCallError, call } from './api.js';
import { h, statusBadge, swap } from './dom.js';
import type { PageContext, Task, TaskPage, View } from './types.js';

type Loose = Record<string, unknown>;
const isRecord = (value: unknown): value is Loose => typeof value === 'object' && value !== null && !Array.isArray(value);
const num = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) ? value : 0);
const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);

export interface Progress {
  done: number;
  failed: number;
  running: number;
  waiting: number;
}

/** Shot counts from a storyboard as the api returns it: `counts`, `progress` or `shots` keyed by status. */
export function progressOf(storyboard: Loose): Progress {
  const source = [storyboard.counts, storyboard.progress, storyboard.shots, storyboard.countsByStatus].find(isRecord) ?? {};
  const pick = (...keys: string[]): number => keys.reduce((sum, key) => sum + num(source[key]), 0);
  return {
    done: pick('SUCCESS', 'succeeded', 'success', 'done'),
    failed: pick('FAILED', 'failed', 'CANCELLED', 'cancelled'),
    running: pick('ACTIVE', 'active', 'running'),
    waiting: pick('PENDING', 'pending', 'waiting'),
  };
}

function progressBar(p: Progress, label: string): HTMLElement {
  const total = Math.max(1, p.done + p.failed + p.running + p.waiting);
  const part = (n: number, kind: string): HTMLElement | null => (n > 0 ? h('span', { class: `bar-${kind}`, style: `width:${(100 * n) / total}%` }) : null);
  return h('div', { class: 'progress' },
    h('div', { class: 'bar', role: 'img', 'aria-label': `${label}: ${p.done} done, ${p.failed} failed, ${p.running} running, ${p.waiting} waiting` },
      part(p.done, 'done'), part(p.failed, 'failed'), part(p.running, 'running'), part(p.waiting, 'waiting')),
    h('span', { class: 'progress-text' }, `${p.done} done · ${p.failed} failed · ${p.running} running · ${p.waiting} waiting`),
  );
}

export function mountStoryboardList(main: HTMLElement): View {
  const list = h('div');
  main.replaceChildren(h('h1', {}, 'Storyboards'), list);
  return {
    async refresh() {
      const page = await call<Loose>('/api/storyboards?limit=100');
      const items = (Array.isArray(page.items) ? page.items : []).filter(isRecord);
      swap(list, JSON.stringify(items), [
        items.length === 0 ? h('p', { class: 'muted' }, 'No storyboard yet.') : h('ul', { class: 'storyboards' }, items.map((s) => {
          const id = text(s.id) ?? '';
          const name = text(s.name) ?? id;
          return h('li', { class: 'card' }, h('h2', {}, h('a', { href: `#/storyboards/${encodeURIComponent(id)}` }, name)), progressBar(progressOf(s), name));
        })),
      ]);
    },
  };
}

async function shotsOf(id: string): Promise<Task[]> {
  const shots: Task[] = [];
  let cursor: string | null = null;
  // Every shot (a storyboard has hundreds at most): pages of 100.
  do {
    const page: TaskPage = await call<TaskPage>(`/api/tasks?storyboardId=${encodeURIComponent(id)}&limit=100${cursor ? `&cursor=${cursor}` : ''}`);
    shots.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return shots.reverse();
}

export function mountStoryboard(main: HTMLElement, id: string, ctx: PageContext): View {
  const head = h('div');
  const grid = h('ul', { class: 'shots', 'aria-label': 'Shots' });
  const viewer = h('dialog', { class: 'viewer', 'aria-label': 'Shot' });
  viewer.addEventListener('click', (event) => {
    if (event.target === viewer) viewer.close();
  });
  main.replaceChildren(h('p', {}, h('a', { href: '#/storyboards' }, '← Storyboards')), head, grid, viewer);

  const open = (shot: Task, url: string): void => {
    viewer.replaceChildren(
      h('img', { src: url, alt: shot.entityName }),
      h('p', {}, h('a', { href: `#/tasks/${shot.id}` }, shot.entityName)),
      h('button', { type: 'button', class: 'secondary', onclick: () => viewer.close() }, 'Close'),
    );
    viewer.showModal();
  };

  const act = (path: string, label: string): void => {
    call<unknown>(path, 'POST').then(
      () => {
        ctx.say(`${label}: done`, 'ok');
        ctx.refresh();
      },
      (error: unknown) => ctx.say(`${label} failed: ${error instanceof ApiCallError ? `${error.code}: ${error.message}` : String(error)}`, 'error'),
    );
  };

  return {
    async refresh() {
      const [storyboard, shots] = await Promise.all([call<Loose>(`/api/storyboards/${encodeURIComponent(id)}`), shotsOf(id)]);
      await ctx.ready();
      const name = text(storyboard.name) ?? id;
      const failed = shots.filter((s) => s.status === 'FAILED' || s.status === 'CANCELLED');
      const unfinished = shots.some((s) => s.status === 'PENDING' || s.status === 'ACTIVE');
      swap(head, JSON.stringify([storyboard, failed.length, unfinished, ctx.access]), [
        h('h1', {}, name),
        progressBar(progressOf(storyboard), name),
        ctx.access === 'read' ? null : h('div', { class: 'actions' },
          failed.length > 0 ? h('button', { type: 'button', class: 'primary', 'data-key': 'retry-failed', onclick: () => {
            Promise.all(failed.map((s) => call<Task>(`/api/tasks/${s.id}/retry`, 'POST'))).then(
              () => { ctx.say(`Retried ${failed.length} shot(s)`, 'ok'); ctx.refresh(); },
              (error: unknown) => ctx.say(`Retry failed: ${error instanceof ApiCallError ? error.message : String(error)}`, 'error'),
            );
          } }, `Retry ${failed.length} failed`) : null,
          unfinished ? h('button', { type: 'button', class: 'secondary', 'data-key': 'cancel-storyboard', onclick: () => act(`/api/storyboards/${encodeURIComponent(id)}/cancel`, 'Cancel storyboard') }, 'Cancel storyboard') : null,
        ),
      ].filter((n): n is HTMLElement => n !== null));
      swap(grid, JSON.stringify(shots.map((s) => [s.id, s.status, s.outputs?.[0]?.fileUrl, s.error])), shots.map((shot) => {
        const url = shot.outputs?.[0]?.fileUrl;
        return h('li', { class: `shot s-${shot.status.toLowerCase()}`, 'data-task': shot.id },
          url
            ? h('button', { type: 'button', class: 'thumb', 'aria-label': `Enlarge ${shot.entityName}`, onclick: () => open(shot, url) },
                h('img', { src: url, alt: '', loading: 'lazy', width: 160, height: 120 }))
            : h('div', { class: 'placeholder' }, shot.status === 'FAILED' ? (shot.error ? `${shot.error.code}: ${shot.error.message}` : 'failed') : shot.status === 'ACTIVE' ? 'generating…' : shot.status === 'CANCELLED' ? 'cancelled' : 'waiting'),
          h('p', {}, h('a', { href: `#/tasks/${shot.id}` }, shot.entityName), ' ', statusBadge(shot.status)),
        );
      }));
    },
  };
}
