// The console's stylesheet and its two small page scripts, served by supervisord itself (no external
// asset, nothing to build). The scripts are plain browser JavaScript kept as text: they only make the
// server-rendered pages live; every link and button works without them.

/** Served at stylesheets/supervisor.css (the path supervisord's pages use). Colours meet WCAG AA contrast. */
export const CONSOLE_CSS = `
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 1080px; padding: 12px 16px 32px; font: 13px/1.45 Verdana, Arial, sans-serif; color: #1f2328; background: #fff; }
a { color: #0b4f9c; }
a:focus-visible, input:focus-visible, pre:focus-visible { outline: 3px solid #1a56c4; outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
header.top { border-bottom: 2px solid #c9ccd1; margin-bottom: 12px; }
header.top h1 { margin: 4px 0 8px; font: bold 34px/1 Georgia, serif; color: #8f1d1d; }
header.top h1 span { font: 14px Verdana, sans-serif; color: #4a4f57; letter-spacing: 1px; }
#statusmessage:empty { display: none; }
.status_msg { margin: 0 0 10px; padding: 6px 10px; border: 1px solid #7aa37a; background: #eef7ee; color: #1e4620; }
#buttons { list-style: none; margin: 0 0 10px; padding: 0; display: flex; flex-wrap: wrap; gap: 8px; align-items: center; }
#buttons .live { margin-left: auto; color: #4a4f57; }
a.button { display: inline-block; padding: 2px 8px; border: 1px solid #6b7280; border-radius: 3px; background: #f6f7f9; color: #1f2328; text-decoration: none; text-transform: uppercase; font-size: 12px; }
a.button:hover { background: #e7e9ee; }
table { width: 100%; border-collapse: collapse; border: 1px solid #b8bcc4; }
th { text-align: left; padding: 6px 8px; background: #e3e6eb; color: #1f2328; font-weight: bold; }
td { padding: 5px 8px; vertical-align: middle; }
tbody tr:nth-child(even) { background: #f2f4f7; }
td.status { width: 84px; text-align: center; }
td.status span { display: inline-block; min-width: 64px; padding: 1px 4px; border-radius: 3px; font-size: 12px; }
.statusrunning { background: #c7ebb0; color: #1d3d08; }
.statuserror { background: #f6c4c4; color: #5c0b0b; }
.statusnominal { background: #f3eaa6; color: #3b3400; }
td.restarts, td.memory { white-space: nowrap; text-align: right; }
td.action ul { list-style: none; margin: 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px 14px; }
td.action li.empty { width: 40px; }
footer { margin-top: 24px; padding-top: 8px; border-top: 1px solid #c9ccd1; color: #4a4f57; font-size: 12px; }
body.tail pre { white-space: pre-wrap; word-break: break-all; padding: 8px; border: 1px solid #c9ccd1; background: #fafbfc; min-height: 4em; }
.tailbuttons { display: flex; gap: 16px; align-items: center; }
@media (max-width: 640px) { th.desc, td.desc, th.memory, td.memory { display: none; } }
`;

/**
 * The status page's live refresh: reads console/processes.json every second and updates the rows in
 * place (state, description, restarts, memory; the actions when the state changed), so keyboard focus
 * stays where it is. A process added or removed reloads the page. Unticking "Live update" (or hiding the tab) pauses it.
 */
export const LIVE_STATUS_SCRIPT = `(() => {
  const box = document.getElementById('live');
  const note = document.getElementById('livestate');
  const apply = (rows) => {
    const body = document.querySelector('#statustable tbody');
    const shown = body ? Array.from(body.rows).map((tr) => tr.dataset.namespec) : [];
    if (shown.join('\\n') !== rows.map((row) => row.namespec).join('\\n')) { location.reload(); return; }
    rows.forEach((row, index) => {
      const tr = body.rows[index];
      const badge = tr.cells[0].firstElementChild;
      if (badge.textContent !== row.status) badge.textContent = row.status;
      if (badge.className !== row.statusClass) badge.className = row.statusClass;
      if (tr.cells[1].textContent !== row.description) tr.cells[1].textContent = row.description;
      const restarts = row.restarts === null ? '' : String(row.restarts);
      if (tr.cells[3].textContent !== restarts) tr.cells[3].textContent = restarts;
      if (tr.cells[4].textContent !== row.memory) tr.cells[4].textContent = row.memory;
      if (tr.dataset.state !== String(row.state)) {
        tr.cells[5].innerHTML = row.actionsHtml;
        tr.dataset.state = String(row.state);
      }
    });
  };
  const tick = async () => {
    // A hidden tab does not poll; it catches up on its next tick once shown.
    if (box.checked && !document.hidden) {
      try {
        const reply = await fetch(ROWS_URL, { cache: 'no-store', credentials: 'same-origin' });
        if (!reply.ok) throw new Error('HTTP ' + reply.status);
        apply((await reply.json()).rows);
        note.textContent = '';
      } catch (error) {
        note.textContent = 'live update failed (' + error.message + '), retrying';
      }
    }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
})();`;

/** The tail page's follow: re-reads the same tail.html every 2 s and swaps the text, staying at the bottom. */
export const LIVE_TAIL_SCRIPT = `(() => {
  const box = document.getElementById('follow');
  const pre = document.getElementById('tailbody');
  const url = document.getElementById('refresh').getAttribute('href');
  const tick = async () => {
    if (box.checked && !document.hidden) {
      try {
        const reply = await fetch(url, { cache: 'no-store', credentials: 'same-origin' });
        if (reply.ok) {
          const next = new DOMParser().parseFromString(await reply.text(), 'text/html').getElementById('tailbody');
          if (next !== null && next.textContent !== pre.textContent) {
            const atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 8;
            pre.textContent = next.textContent;
            if (atBottom) window.scrollTo(0, document.body.scrollHeight);
          }
        }
      } catch {
        // The next tick tries again (supervisord restarting, a dropped connection).
      }
    }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
})();`;
