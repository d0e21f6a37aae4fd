// supervisord's web console, served by rpc/http-server.ts on the same servers and behind the same basic
// auth as /RPC2: the URLs of supervisord 4.2.5 (`/`, index.html?processname=…&action=…, tail.html?
// processname=…&limit=…, ok.html; the /logtail streams stay in http-server.ts) and what ours adds:
// console/processes.json, the rows the status page refreshes itself from. Public surface: this file.
import type { SupervisorRpc } from '../rpc/methods.js';
import type { SupervisorControl } from '../types.js';
import { runConsoleAction, tailText, UnknownActionError } from './actions.js';
import { actionsHtml, renderStatusPage, renderTailPage, ROWS_JSON_PATH } from './pages.js';
import { consoleRows, formatBytes } from './rows.js';
import { CONSOLE_CSS } from './scripts.js';

export { ctime } from './actions.js';

export type ConsoleView = 'index.html' | 'tail.html' | 'ok.html' | 'stylesheets/supervisor.css' | typeof ROWS_JSON_PATH;

const VIEWS: readonly ConsoleView[] = ['index.html', 'tail.html', 'ok.html', 'stylesheets/supervisor.css', ROWS_JSON_PATH];

/** The pages take GET and POST (a form), as supervisord's; the stylesheet and the rows are read-only. */
export function consoleMethods(view: ConsoleView): readonly string[] {
  return view === 'index.html' || view === 'tail.html' || view === 'ok.html' ? ['GET', 'POST'] : ['GET', 'HEAD'];
}

/** Which console view a request path names (query ignored; leading slashes stripped, `/` is index.html), or null. */
export function consoleView(url: string): ConsoleView | null {
  let path = url.split('?')[0] ?? '';
  path = path.replace(/^\/+/, '');
  if (path === '') return 'index.html';
  return VIEWS.find((view) => view === path) ?? null;
}

export type ConsoleReply =
  | { kind: 'page'; contentType: string; body: string }
  | { kind: 'redirect'; location: string }
  | { kind: 'error'; code: 500 };

export interface ConsoleRequest {
  view: ConsoleView;
  /** The raw query string (after `?`, may be empty). */
  query: string;
  /** An application/x-www-form-urlencoded POST body ('' for GET). */
  formBody: string;
  /** `http://host[:port]` from the Host header, the base of the redirect after an action. */
  serverUrl: string;
}

/**
 * The form as web.py builds it: query values (the first of duplicates), then POSTed values over them
 * (the last of duplicates). Blank values are dropped, as Python's parse_qs drops them.
 */
export function consoleForm(query: string, formBody: string): Map<string, string> {
  const form = new Map<string, string>();
  for (const [key, value] of new URLSearchParams(query)) {
    if (value !== '' && !form.has(key)) form.set(key, value);
  }
  for (const [key, value] of new URLSearchParams(formBody)) {
    if (value !== '') form.set(key, value);
  }
  return form;
}

/** `http://` + the Host header without the default port 80, as supervisord's get_server_url. */
export function serverUrlOf(hostHeader: string | undefined, fallbackHost: string): string {
  const host = (hostHeader ?? '').trim() || fallbackHost;
  return `http://${host.endsWith(':80') ? host.slice(0, -3) : host}`;
}

/** Python's `urllib.quote` with no safe characters but `/`, as supervisord quotes the message. */
function quoteMessage(message: string): string {
  return encodeURIComponent(message).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replace(/%2F/g, '/');
}

/** The tail page's byte count: at least 1024, more when `limit` asks (web.py TailView). */
export function tailLimit(raw: string | undefined): number {
  return raw !== undefined && /^\d+$/.test(raw) ? Math.max(1024, Number(raw)) : 1024;
}

export async function serveConsole(rpc: SupervisorRpc, control: SupervisorControl, request: ConsoleRequest): Promise<ConsoleReply> {
  const html = 'text/html;charset=utf-8';
  switch (request.view) {
    case 'ok.html':
      return { kind: 'page', contentType: 'text/plain', body: 'OK' };
    case 'stylesheets/supervisor.css':
      return { kind: 'page', contentType: 'text/css', body: CONSOLE_CSS };
    case ROWS_JSON_PATH: {
      const rows = consoleRows(control).map((row) => ({
        namespec: row.namespec,
        status: row.status,
        state: row.state,
        statusClass: row.statusClass,
        description: row.description,
        restarts: row.restarts,
        residentBytes: row.residentBytes,
        memory: formatBytes(row.residentBytes),
        actionsHtml: actionsHtml(row),
      }));
      return { kind: 'page', contentType: 'application/json', body: JSON.stringify({ rows }) };
    }
    case 'tail.html': {
      const form = consoleForm(request.query, request.formBody);
      const processname = form.get('processname') ?? null;
      const limit = tailLimit(form.get('limit'));
      const text = processname === null ? 'No process name found' : await tailText(rpc, processname, limit);
      return { kind: 'page', contentType: html, body: renderTailPage(processname, text, limit) };
    }
    case 'index.html': {
      const form = consoleForm(request.query, request.formBody);
      const action = form.get('action');
      if (action !== undefined) {
        try {
          const message = await runConsoleAction(rpc, control, form.get('processname'), action);
          return { kind: 'redirect', location: `${request.serverUrl}/?message=${quoteMessage(message)}` };
        } catch (error) {
          if (error instanceof UnknownActionError) return { kind: 'error', code: 500 };
          throw error;
        }
      }
      return { kind: 'page', contentType: html, body: renderStatusPage(consoleRows(control), form.get('message')) };
    }
  }
}
