/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The Storyboards pages, shown when the api has /api/storyboards: a list with progress bars, and a
// storyboard's shots as a grid of thumbnails (placeholders while waiting, the error of a failed shot, a
// larger view on click), with its retry-failed and cancel buttons.
import { ApiCallError, call, showImage } from './api.js';
import { h, statusBadge, swap, time } from './dom.js';
import { promptOf } from './prompt.js';
import { retryLabel } from './retry-label.js';
import type { PageContext, Storyboard, StoryboardPage, StoryboardSummary, Task, View } from './types.js';

function progressBar(s: StoryboardSummary): HTMLElement {
  const total = Math.max(1, s.total);
  const part = (n: number, kind: string): HTMLElement | null => (n > 0 ? h('span', { class: `bar-${kind}`, style: `width:${(100 * n) / total}%` }) : null);
  const text = `${s.success} done · ${s.failed} failed · ${s.cancelled} cancelled · ${s.active} running · ${s.pending} waiting, of ${s.total}`;
  return h('div', { class: 'progress' },
    h('div', { class: 'bar', role: 'img', 'aria-label': `${s.name}: ${text}` },
      part(s.success, 'done'), part(s.failed, 'failed'), part(s.cancelled, 'cancelled'), part(s.active, 'running'), part(s.pending, 'waiting')),
    h('span', { class: 'progress-text' }, text),
  );
}

/** Whose storyboard it is and when it ran: "episode / ep-1 · created … · finished …". */
function storyboardFacts(s: StoryboardSummary): HTMLElement {
  const finished = s.finishedAt === null ? '' : ` · finished ${time(s.finishedAt)}`;
  return h('p', { class: 'muted storyboard-facts' }, `${s.entityType} / ${s.entityId} · created ${time(s.createdAt)}${finished}`);
}

export function mountStoryboardList(main: HTMLElement): View {
  const list = h('div');
  main.replaceChildren(h('h1', {}, 'Storyboards'), list);
  return {
    async refresh() {
      const page = await call<StoryboardPage>('/api/storyboards?limit=100');
      swap(list, JSON.stringify(page.items), [
        page.items.length === 0
          ? h('p', { class: 'muted' }, 'No storyboard yet.')
          : h('ul', { class: 'storyboards', 'data-testid': 'storyboards' }, page.items.map((s) =>
              h('li', { class: 'card', 'data-storyboard': s.id },
                h('h2', {}, h('a', { href: `#/storyboards/${s.id}` }, s.name), ' ', h('span', { class: `badge sb-${s.status}` }, s.status.replaceAll('_', ' '))),
                storyboardFacts(s),
                progressBar(s),
              ))),
      ]);
    },
  };
}

const IMAGE_TYPE = /png|jpe?g|webp|gif/i;

function thumbnailOf(shot: Task): string | null {
  const output = shot.outputs?.find((o) => IMAGE_TYPE.test(o.fileType ?? '') || IMAGE_TYPE.test(o.fileUrl));
  // Our kept copy when there is one (RunningHub's URLs expire), else RunningHub's.
  return output ? (typeof output.url === 'string' ? output.url : output.fileUrl) : null;
}

/**
 * What stands in for a shot's image: its state, or a failed shot's error. A long error is cut to a few
 * lines (all of it in the tooltip and on the shot's page), so that every card keeps the thumbnail's size.
 */
function placeholder(text: string): HTMLElement {
  return h('div', { class: 'placeholder', title: text }, h('span', {}, text));
}

export function mountStoryboard(main: HTMLElement, id: string, ctx: PageContext): View {
  const head = h('div');
  const grid = h('ul', { class: 'shots', 'aria-label': 'Shots', 'data-testid': 'shots' });
  const viewer = h('dialog', { class: 'viewer', 'aria-label': 'Shot' });
  viewer.addEventListener('click', (event) => {
    if (event.target === viewer) viewer.close();
  });
  main.replaceChildren(h('p', {}, h('a', { href: '#/storyboards' }, '← Storyboards')), head, grid, viewer);

  const open = (shot: Task, url: string): void => {
    const prompt = promptOf(shot);
    const parts: Node[] = [
      showImage(h('img', { alt: shot.entityName }), url),
      h('p', {}, h('a', { href: `#/tasks/${shot.id}` }, shot.entityName), ' ', statusBadge(shot.status)),
    ];
    if (prompt !== null) parts.push(h('p', { class: 'prompt' }, prompt));
    parts.push(h('button', { type: 'button', class: 'secondary', onclick: () => viewer.close() }, 'Close'));
    viewer.replaceChildren(...parts);
    viewer.showModal();
  };

  const act = (action: 'retry' | 'cancel', label: string) => (event: Event) => {
    const button = event.currentTarget as HTMLButtonElement;
    button.disabled = true;
    call<Storyboard>(`/api/storyboards/${encodeURIComponent(id)}/${action}`, 'POST').then(
      (after) => {
        ctx.say(`${label}: ${after.name} is ${after.status.replaceAll('_', ' ')} (${after.pending} waiting, ${after.active} running)`, 'ok');
        ctx.refresh();
      },
      (error: unknown) => {
        button.disabled = false;
        ctx.say(`${label} failed: ${error instanceof ApiCallError ? `${error.code}: ${error.message}` : String(error)}`, 'error');
      },
    );
  };

  return {
    async refresh() {
      const storyboard = await call<Storyboard>(`/api/storyboards/${encodeURIComponent(id)}`);
      await ctx.ready();
      const retryable = storyboard.failed + storyboard.cancelled;
      const unfinished = storyboard.pending + storyboard.active;
      const { details, ...summary } = storyboard;
      swap(head, JSON.stringify([summary, ctx.access]), [
        h('h1', {}, storyboard.name, ' ', h('span', { class: `badge sb-${storyboard.status}` }, storyboard.status.replaceAll('_', ' '))),
        storyboardFacts(storyboard),
        progressBar(storyboard),
        ctx.access === 'read' ? null : h('div', { class: 'actions' },
          retryable > 0 ? h('button', { type: 'button', class: 'primary', 'data-key': 'retry-storyboard', onclick: act('retry', 'Retry failed shots') }, retryLabel(storyboard)) : null,
          unfinished > 0 ? h('button', { type: 'button', class: 'secondary', 'data-key': 'cancel-storyboard', onclick: act('cancel', 'Cancel storyboard') }, 'Cancel storyboard') : null,
        ),
      ].filter((n): n is HTMLElement => n !== null));
      swap(grid, JSON.stringify(details.map((s) => [s.id, s.status, s.outputs, s.error, s.cancelRequested])), details.map((shot) => {
        const url = thumbnailOf(shot);
        const prompt = promptOf(shot);
        return h('li', { class: `shot s-${shot.status.toLowerCase()}`, 'data-task': shot.id },
          url
            ? h('button', { type: 'button', class: 'thumb', 'aria-label': `Enlarge ${shot.entityName}`, onclick: () => open(shot, url) },
                showImage(h('img', { alt: '', loading: 'lazy', width: 160, height: 120 }), url))
            : placeholder(
                shot.status === 'FAILED' ? (shot.error ? `${shot.error.code}: ${shot.error.message}` : 'failed')
                  : shot.status === 'ACTIVE' ? 'generating…'
                  : shot.status === 'CANCELLED' ? 'cancelled'
                  : shot.status === 'SUCCESS' ? 'no image'
                  : 'waiting'),
          h('p', { class: 'name' }, h('a', { href: `#/tasks/${shot.id}` }, shot.entityName), ' ', statusBadge(shot.status)),
          prompt === null ? null : h('p', { class: 'prompt', title: prompt }, prompt),
        );
      }));
    },
  };
}
