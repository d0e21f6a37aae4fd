/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
// The dashboard's script (bundled by scripts/build.mjs into dist/ui/app.js): the token prompt, the hash
// router (#/queue, #/tasks, #/tasks/<id>, #/storyboards, #/storyboards/<id>) and live refreshes.
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { ApiCallError, ApiUnreachableError, call, tokenStore } from './api.js';
import { h } from './dom.js';
import { startLive } from './live.js';
import { mountQueue } from './queue-page.js';
import { mountStoryboard, mountStoryboardList } from './storyboards-page.js';
import { mountTaskDetail, mountTaskList } from './tasks-page.js';
import type { Access, PageContext, View } from './types.js';

const main = document.getElementById('main')!;
const liveLabel = document.getElementById('live')!;
const statusLine = h('p', { class: 'status-line', role: 'status', 'aria-live': 'polite' });
document.querySelector('header.top')?.after(statusLine);

let view: View | null = null;
let refreshing = false;
let refreshAgain = false;
/** Whether the api has /api/storyboards: the server writes it into the page (pages.ts). */
const storyboards = document.body.dataset.storyboards === 'yes';
/** Settles when /api/access has answered (the views render after it; rejected on 401). */
let accessReady: Promise<void> = Promise.resolve();
/** /api/access accepted the token: a 401 after that means the token changed on the server. */
let accessKnown = false;

/** One refresh at a time; a change during one asks for exactly one more (never a pile-up). */
function refresh(): void {
  if (!view) return;
  if (refreshing) {
    refreshAgain = true;
    return;
  }
  refreshing = true;
  const current = view;
  current.refresh().then(
    () => {
      refreshing = false;
      // A load error is over once a load succeeds (an action's outcome stays until the page changes).
      if (view === current && statusLine.dataset.loadError === 'yes') say('');
      if (refreshAgain) {
        refreshAgain = false;
        refresh();
      }
    },
    (error: unknown) => {
      refreshing = false;
      if (error instanceof ApiCallError && error.status === 401) {
        // Until /api/access has answered, start() asks for the token (its answer may come after this one's);
        // here the token was refused later (changed on the server).
        if (accessKnown && tokenStore.get() !== null && view === current) {
          tokenStore.clear();
          askForToken('The token was refused; enter it again.');
        }
        return;
      }
      if (view !== current) return;
      say(
        error instanceof ApiUnreachableError
          ? `The api does not answer (${error.message}); the page tries again at the next update.`
          : `Could not load: ${error instanceof ApiCallError ? `${error.code}: ${error.message}` : String(error)}`,
        'error',
      );
      statusLine.dataset.loadError = 'yes';
    },
  );
}

function say(message: string, kind: 'ok' | 'error' = 'ok'): void {
  statusLine.textContent = message;
  statusLine.className = message === '' ? 'status-line' : `status-line ${kind}`;
  delete statusLine.dataset.loadError;
}

/** The tab's title, and which top link is the current page's ("storyboards" for a shot's page). */
function titled(name: string, section?: Section): void {
  document.title = `${name} · storyboard-api`;
  if (section !== undefined) markSection(section);
}

type Section = 'queue' | 'tasks' | 'storyboards';

function markSection(section: Section): void {
  for (const link of document.querySelectorAll<HTMLAnchorElement>('[data-nav]')) {
    if (link.dataset.nav === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function route(): void {
  // The token prompt stays until it is answered, whatever the hash does meanwhile.
  if (askingForToken) return;
  view?.dispose?.();
  // What was said belongs to the page it was said on.
  say('');
  const [path = '', query = ''] = location.hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean);
  const params = new URLSearchParams(query);
  const ctx: PageContext = {
    get access() {
      return access;
    },
    ready: () => accessReady,
    say,
    refresh,
    titled,
  };
  const page = parts[0] === 'tasks' || parts[0] === 'storyboards' ? parts[0] : 'queue';
  markSection(page);
  // The page's name until the view names it after what it shows.
  document.title = `${page[0]!.toUpperCase()}${page.slice(1)} · storyboard-api`;
  if (parts[0] === 'tasks' && parts[1]) view = mountTaskDetail(main, decodeURIComponent(parts[1]), ctx);
  else if (parts[0] === 'tasks') view = mountTaskList(main, params, ctx, storyboards);
  else if (parts[0] === 'storyboards' && storyboards && parts[1]) view = mountStoryboard(main, decodeURIComponent(parts[1]), ctx);
  else if (parts[0] === 'storyboards' && storyboards) view = mountStoryboardList(main, params, ctx);
  else view = mountQueue(main, ctx);
  refresh();
}

let askingForToken = false;

function askForToken(problem?: string): void {
  askingForToken = true;
  view = null;
  const input = h('input', { id: 'token', type: 'password', autocomplete: 'current-password', required: true });
  const form = h('form', { class: 'card login', 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, 'API token'),
    h('p', {}, 'This api needs a token (API_TOKEN, or API_READ_TOKEN to look only). It is kept in this tab until you close it.'),
    problem ? h('p', { class: 'error', role: 'alert' }, problem) : null,
    h('label', { for: 'token' }, 'Token'), input,
    h('button', { type: 'submit', class: 'primary' }, 'Open the dashboard'),
  );
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    tokenStore.set(input.value.trim());
    void start();
  });
  main.replaceChildren(form);
  input.focus();
}

let started = false;
let access: Access = 'read';

/**
 * Asks /api/access and the first page's data at once (two round trips in parallel, not in a row): the page
 * renders its data once the access is known (a read-only token never sees a button).
 */
async function start(): Promise<void> {
  askingForToken = false;
  accessKnown = false;
  const accessCall = call<{ access: Access }>('/api/access');
  const ready = accessCall.then(
    (answer) => {
      accessKnown = true;
      access = answer.access;
      document.body.dataset.access = access;
      if (access === 'read' && !document.querySelector('[data-read-only]')) liveLabel.after(h('span', { class: 'badge', 'data-read-only': true, title: 'API_READ_TOKEN: no actions' }, 'read-only'));
    },
    (error: unknown) => {
      if (error instanceof ApiCallError && error.status === 401) {
        askForToken(tokenStore.get() === null ? undefined : 'That token was refused.');
        tokenStore.clear();
      } else {
        main.replaceChildren(h('p', { class: 'error', role: 'alert' }, `The api does not answer: ${error instanceof Error ? error.message : String(error)}`));
      }
      throw error;
    },
  );
  accessReady = ready;
  if (!started) {
    started = true;
    window.addEventListener('hashchange', () => route());
  }
  route();
  try {
    await ready;
  } catch {
    return;
  }
  if (liveStarted) return;
  liveStarted = true;
  startLive(refresh, (mode) => {
    liveLabel.textContent = mode === 'sse' ? 'live' : 'updating every second';
  });
}

let liveStarted = false;

void start();
