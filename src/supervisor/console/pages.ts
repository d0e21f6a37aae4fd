// The console's HTML: the status page (index.html) and the tail page (tail.html), written for this
// project (supervisord 4.2.5's pages were the model for what they show, not their markup). Everything
// from a process or a query is escaped; the pages work without script, the script only keeps them live.
import { SUPERVISOR_VERSION } from '../types.js';
import { formatBytes, pythonQuote, type ConsoleAction, type ConsoleRow } from './rows.js';
import { LIVE_STATUS_SCRIPT, LIVE_TAIL_SCRIPT } from './scripts.js';

export function escapeHtml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;').replaceAll("'", '&#39;');
}

/** Where the page's live refresh reads the rows (relative, so it works behind any prefix). */
export const ROWS_JSON_PATH = 'console/processes.json';

function head(title: string): string {
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<link href="stylesheets/supervisor.css" rel="stylesheet" type="text/css">',
    '</head>',
  ].join('\n');
}

export function actionHtml(action: ConsoleAction | null, namespec: string): string {
  if (action === null) return '<li class="empty"></li>';
  const target = action.newTab ? ' target="_blank" rel="noopener"' : '';
  // The visible text is supervisord's; the accessible name adds the process, so a screen reader's
  // list of links says which "Restart" is which.
  return `<li><a href="${escapeHtml(action.href)}" aria-label="${escapeHtml(`${action.name} ${namespec}`)}"${target}>${escapeHtml(action.name)}</a></li>`;
}

export function actionsHtml(row: ConsoleRow): string {
  return `<ul>${row.actions.map((action) => actionHtml(action, row.namespec)).join('')}</ul>`;
}

function rowHtml(row: ConsoleRow): string {
  const name = escapeHtml(row.namespec);
  return [
    `<tr data-namespec="${name}" data-state="${row.state}">`,
    `<td class="status"><span class="${row.statusClass}">${escapeHtml(row.status)}</span></td>`,
    `<td class="desc">${escapeHtml(row.description)}</td>`,
    `<td class="name"><a href="tail.html?processname=${escapeHtml(pythonQuote(row.namespec))}" target="_blank" rel="noopener">${name}</a></td>`,
    `<td class="restarts">${row.restarts === null ? '' : String(row.restarts)}</td>`,
    `<td class="memory">${escapeHtml(formatBytes(row.residentBytes))}</td>`,
    `<td class="action">${actionsHtml(row)}</td>`,
    '</tr>',
  ].join('');
}

export function renderStatusPage(rows: readonly ConsoleRow[], message: string | undefined, year = new Date().getFullYear()): string {
  const table =
    rows.length === 0
      ? '<p id="statustable">No programs to manage</p>'
      : [
          '<table id="statustable">',
          '<caption class="visually-hidden">Processes</caption>',
          '<thead><tr>',
          '<th scope="col" class="state">State</th>',
          '<th scope="col" class="desc">Description</th>',
          '<th scope="col" class="name">Name</th>',
          '<th scope="col" class="restarts">Restarts</th>',
          '<th scope="col" class="memory">Memory</th>',
          '<th scope="col" class="action">Action</th>',
          '</tr></thead>',
          `<tbody>\n${rows.map(rowHtml).join('\n')}\n</tbody>`,
          '</table>',
        ].join('\n');
  return [
    head('Supervisor Status'),
    '<body>',
    '<header class="top"><h1>Supervisor <span>status</span></h1></header>',
    '<main>',
    // role=status: a message that arrives after an action is read out without moving focus.
    message === undefined
      ? '<div id="statusmessage" role="status"></div>'
      : `<div id="statusmessage" class="status_msg" role="status">${escapeHtml(message)}</div>`,
    '<ul id="buttons">',
    '<li><a class="button" href="index.html?action=refresh">Refresh</a></li>',
    '<li><a class="button" href="index.html?action=restartall">Restart All</a></li>',
    '<li><a class="button" href="index.html?action=stopall">Stop All</a></li>',
    '<li class="live"><label><input type="checkbox" id="live" checked> Live update</label> <span id="livestate" aria-live="polite"></span></li>',
    '</ul>',
    table,
    '</main>',
    `<footer>Supervisor ${SUPERVISOR_VERSION} protocol, served by storyboard-api's supervisord &middot; ${year}</footer>`,
    `<script>const ROWS_URL = ${JSON.stringify(ROWS_JSON_PATH)};\n${LIVE_STATUS_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** `processname` null: the query had none (supervisord says "No process name found" and titles it "None"). */
export function renderTailPage(processname: string | null, text: string, limit: number): string {
  const refresh =
    processname === null
      ? ''
      : [
          '<p class="tailbuttons">',
          `<a class="button" id="refresh" href="tail.html?processname=${escapeHtml(pythonQuote(processname))}&amp;limit=${limit}">Refresh</a>`,
          '<label><input type="checkbox" id="follow" checked> Follow (refresh every 2 s)</label>',
          '</p>',
        ].join('\n');
  return [
    head(`Supervisor tail of process ${processname ?? 'None'}`),
    '<body class="tail">',
    '<main>',
    `<h1 class="visually-hidden">Tail of ${escapeHtml(processname ?? 'no process')}</h1>`,
    `<pre id="tailbody" tabindex="0" aria-label="log">${escapeHtml(text)}</pre>`,
    refresh,
    '<p><a href="index.html">Back to the status page</a></p>',
    '</main>',
    processname === null ? '' : `<script>${LIVE_TAIL_SCRIPT}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
