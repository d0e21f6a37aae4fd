/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The Storyboards pages, shown when the api has /api/storyboards: a list with progress bars, and a
// storyboard's shots as a grid of thumbnails (placeholders while waiting, the error of a failed shot, a
// larger view on click), with its retry-failed and cancel buttons, and the account's pause while its
// shots wait on it.
import { ApiCallError, call, showImage } from './api.js';
import { h, showPager, statusBadge, swap, time } from './dom.js';
import { promptOf } from './prompt.js';
import { retryLabel } from './retry-label.js';
import { shotErrorText } from './shot-error.js';
import { createShotViewer, type Frame } from './shot-viewer.js';
import type { PageContext, Queue, Storyboard, StoryboardPage, StoryboardSummary, Task, View } from './types.js';

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

const STATUSES = ['running', 'done', 'done_with_failures', 'cancelled'] as const;
const PAGE_SIZE = 50;

/** The list, newest first, a page at a time; its status filter and cursor live in the hash (Back works). */
export function mountStoryboardList(main: HTMLElement, params: URLSearchParams, ctx: PageContext): View {
  const given = params.get('status') ?? '';
  const status = h('select', { name: 'status', onchange: () => {
    const next = new URLSearchParams();
    if (status.value !== '') next.set('status', status.value);
    location.hash = `#/storyboards${next.size > 0 ? `?${next.toString()}` : ''}`;
  } },
    h('option', { value: '' }, 'any'),
    STATUSES.map((s) => h('option', { value: s, selected: given === s }, s.replaceAll('_', ' '))),
  );
  const list = h('div');
  const pager = h('nav', { class: 'pager', 'aria-label': 'Pages of storyboards' });
  const heldNote = h('p', { class: 'held-note muted', 'aria-hidden': 'true' }, 'Updates wait while the pointer moves on the list.');
  main.replaceChildren(h('h1', {}, 'Storyboards'), h('form', { class: 'filters', role: 'search', 'aria-label': 'Filter storyboards' }, h('label', {}, 'Status', status)), list, heldNote, pager);
  ctx.titled('Storyboards');
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  for (const name of ['status', 'cursor'] as const) {
    const value = params.get(name);
    if (value) query.set(name, value);
  }
  return {
    async refresh() {
      const page = await call<StoryboardPage>(`/api/storyboards?${query.toString()}`);
      swap(list, JSON.stringify(page.items), [
        page.items.length === 0
          ? h('p', { class: 'muted' }, params.has('status') || params.has('cursor')
              ? ['No storyboard matches.']
              : ['No storyboard yet. Storyboards are made through the api: POST /api/storyboards (see ', h('a', { href: '/docs' }, '/docs'), ').'])
          : h('ul', { class: 'storyboards', 'data-testid': 'storyboards' }, page.items.map((s) =>
              h('li', { class: 'card', 'data-storyboard': s.id },
                h('h2', {}, h('a', { href: `#/storyboards/${s.id}`, 'data-key': `open-${s.id}` }, s.name), ' ', h('span', { class: `badge sb-${s.status}` }, s.status.replaceAll('_', ' '))),
                storyboardFacts(s),
                progressBar(s),
              ))),
      ], { holdWhileAimedAt: true });
      showPager(pager, 'storyboards', params, page.nextCursor);
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
 * What stands in for a shot's image: its state, or a failed shot's error (the reason first, then the code
 * and where it came from). A long error is cut to a few lines (all of it in the tooltip and on the shot's
 * page), so that every card keeps the thumbnail's size.
 */
function placeholder(shot: Task): HTMLElement {
  if (shot.status === 'FAILED' && shot.error) {
    const { reason, source } = shotErrorText(shot.error);
    return h('div', { class: 'placeholder', title: `${shot.error.code}: ${shot.error.message}` },
      h('span', {}, h('span', { class: 'reason' }, reason), source === '' ? null : h('small', { class: 'source' }, source)));
  }
  const text = shot.status === 'FAILED' ? 'failed'
    : shot.status === 'ACTIVE' ? 'generating…'
    : shot.status === 'CANCELLED' ? 'cancelled'
    : shot.status === 'SUCCESS' ? 'no image'
    : 'waiting';
  return h('div', { class: 'placeholder', title: text }, h('span', {}, text));
}

/**
 * While the storyboard has shots waiting and an account is paused (its wallet empty), nothing is
 * submitted: the page says so, and when the next balance check is, instead of showing waiting shots only.
 */
function pauseNotices(queue: Queue | null): HTMLElement[] {
  return (queue?.accounts ?? []).flatMap((account) => account.pause === null ? [] : [
    h('p', { class: 'error-box pause-notice', role: 'note', 'data-testid': 'storyboard-pause' },
      h('strong', {}, `RunningHub account ${account.account} is paused`),
      `: no shot is submitted until a balance check finds coins again (${account.pause.code}${account.pause.reason ? `: ${account.pause.reason}` : ''}; next check ${account.pause.nextCheckAt ? time(account.pause.nextCheckAt) : '—'}). `,
      h('a', { href: '#/queue' }, 'Queue'),
    ),
  ]);
}

const countOf = (n: number, what: string): string => `${n} ${what}${n === 1 ? '' : 's'}`;

export function mountStoryboard(main: HTMLElement, id: string, ctx: PageContext): View {
  const head = h('div');
  const grid = h('ul', { class: 'shots', 'aria-label': 'Shots', 'data-testid': 'shots' });
  const viewer = createShotViewer();
  main.replaceChildren(h('p', {}, h('a', { href: '#/storyboards' }, '← Storyboards')), head, grid, viewer.element);
  ctx.titled('Storyboard', 'storyboards');
  let frames: Frame[] = [];

  const act = (action: 'retry' | 'cancel', before: Storyboard) => (event: Event) => {
    const button = event.currentTarget as HTMLButtonElement;
    const unfinished = before.pending + before.active;
    // A cancel cannot be taken back (a retry of the cancelled shots starts them again from the start).
    if (action === 'cancel' && !window.confirm(`Cancel ${countOf(unfinished, 'unfinished shot')} of ${before.name}?`)) return;
    button.disabled = true;
    call<Storyboard>(`/api/storyboards/${encodeURIComponent(id)}/${action}`, 'POST').then(
      (after) => {
        ctx.say(action === 'retry'
          ? `${after.name}: ${retryLabel(before).replace(/^Retry/, 'retried')}, now ${after.pending} waiting and ${after.active} running.`
          : `Cancelled ${after.name}: ${countOf(after.cancelled, 'shot')} cancelled${after.active > 0 ? `, ${after.active} still stopping at RunningHub` : ''}.`, 'ok');
        ctx.refresh();
      },
      (error: unknown) => {
        button.disabled = false;
        ctx.say(`${action === 'retry' ? retryLabel(before) : 'Cancel'} failed: ${error instanceof ApiCallError ? `${error.code}: ${error.message}` : String(error)}`, 'error');
      },
    );
  };

  return {
    async refresh() {
      let storyboard: Storyboard;
      try {
        storyboard = await call<Storyboard>(`/api/storyboards/${encodeURIComponent(id)}`);
      } catch (error) {
        // A wrong or deleted id: say so on the page, in words, rather than leave it empty.
        if (!(error instanceof ApiCallError) || (error.status !== 404 && error.status !== 400)) throw error;
        swap(head, `missing ${error.code}`, [
          h('h1', {}, 'No such storyboard'),
          h('p', {}, error.status === 404 ? 'No storyboard has this id: it may have been deleted by the retention.' : `This is not a storyboard id (${error.message}).`, ' ', h('a', { href: '#/storyboards' }, 'All storyboards')),
        ]);
        swap(grid, 'missing', []);
        return;
      }
      // The account's pause matters while shots wait (read beside the storyboard, not after it).
      const queue = storyboard.pending > 0 ? await call<Queue>('/api/queue') : null;
      await ctx.ready();
      ctx.titled(storyboard.name, 'storyboards');
      const retryable = storyboard.failed + storyboard.cancelled;
      const unfinished = storyboard.pending + storyboard.active;
      const { details, ...summary } = storyboard;
      swap(head, JSON.stringify([summary, ctx.access, queue?.accounts.map((a) => a.pause)]), [
        h('h1', {}, storyboard.name, ' ', h('span', { class: `badge sb-${storyboard.status}` }, storyboard.status.replaceAll('_', ' '))),
        storyboardFacts(storyboard),
        ...pauseNotices(queue),
        progressBar(storyboard),
        ctx.access === 'read' ? null : h('div', { class: 'actions' },
          retryable > 0 ? h('button', { type: 'button', class: 'primary', 'data-key': 'retry-storyboard', onclick: act('retry', storyboard) }, retryLabel(storyboard)) : null,
          unfinished > 0 ? h('button', { type: 'button', class: 'secondary', 'data-key': 'cancel-storyboard', onclick: act('cancel', storyboard) }, 'Cancel storyboard') : null,
        ),
      ].filter((n): n is HTMLElement => n !== null));
      frames = details.flatMap((shot) => {
        const url = thumbnailOf(shot);
        return url === null ? [] : [{ shot, url }];
      });
      swap(grid, JSON.stringify(details.map((s) => [s.id, s.status, s.outputs, s.error, s.cancelRequested])), details.map((shot) => {
        const url = thumbnailOf(shot);
        const prompt = promptOf(shot);
        // data-key: a live update redraws the grid, and keyboard focus comes back to the same shot.
        return h('li', { class: `shot s-${shot.status.toLowerCase()}`, 'data-task': shot.id },
          url
            ? h('button', { type: 'button', class: 'thumb', 'data-key': `thumb-${shot.id}`, 'aria-label': `Enlarge ${shot.entityName}`, onclick: () => viewer.open(frames, frames.findIndex((f) => f.shot.id === shot.id)) },
                showImage(h('img', { alt: '', loading: 'lazy', width: 160, height: 120 }), url))
            : placeholder(shot),
          h('p', { class: 'name' }, h('a', { href: `#/tasks/${shot.id}`, 'data-key': `name-${shot.id}` }, shot.entityName), ' ', statusBadge(shot.status)),
          prompt === null ? null : h('p', { class: 'prompt', title: prompt }, prompt),
        );
      }));
    },
  };
}
