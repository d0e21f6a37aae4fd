// supervisord's web console over HTTP: the same requests to Debian's supervisord 4.2.5 and to ours (both
// real child processes on [inet_http_server] behind basic auth) give the same statuses, redirects and
// messages; then what ours adds (restarts, memory, console/processes.json), and the pure helpers.
import { describe, expect, it } from 'vitest';
import { consoleForm, ctime, serverUrlOf, tailLimit } from '../../../src/supervisor/console/index.js';
import { renderStatusPage, renderTailPage } from '../../../src/supervisor/console/pages.js';
import { consoleRows, formatBytes, pythonQuote } from '../../../src/supervisor/console/rows.js';
import { ProcessState, type ProcessInfo, type SupervisorControl } from '../../../src/supervisor/types.js';
import { waitFor } from '../../support/wait.js';
import { describeWithPeers, launcher, REAL_SUPERVISORD, tempDirForFile, type Peer } from '../fixtures.js';
import { CONSOLE_PASSWORD, CONSOLE_PROGRAMS, CONSOLE_USER, http, redirectMessage, startPeer, type HttpReply } from './peers.js';

const dir = tempDirForFile('console');
const launch = launcher();

const CTIME = /[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}$/;

function unescapeHtml(text: string): string {
  return text.replaceAll('&lt;', '<').replaceAll('&gt;', '>').replaceAll('&quot;', '"').replaceAll('&#39;', "'").replaceAll('&amp;', '&');
}

/** The process table as a user reads it, from either page's markup: state (and its class), description (digits as N), name link, actions. */
function tableRows(html: string): string[] {
  const body = /<tbody[^>]*>([\s\S]*?)<\/tbody>/.exec(html)?.[1] ?? '';
  return body
    .split(/<tr\b/)
    .slice(1)
    .map((tr) => {
      const status = /<span class="(status\w+)">([^<]*)</.exec(tr);
      const description = /<td(?: class="desc")?>(?:<span>)?([^<]*)(?:<\/span>)?<\/td>/.exec(tr)?.[1] ?? '?';
      const name = /<a href="(tail\.html\?processname=[^"]*)"[^>]*>([^<]*)</.exec(tr);
      const actions = [...tr.matchAll(/<a href="((?:index\.html\?processname=|logtail\/)[^"]*)"[^>]*>([^<]*)<\/a>/g)].map((m) => `${m[2]}=${unescapeHtml(m[1] ?? '')}`);
      return [status?.[2], status?.[1], unescapeHtml(description).replace(/\d+/g, 'N'), name?.[2], name?.[1], actions.join(' ')].join(' | ');
    });
}

/** What a reply means, stripped of what may differ (markup, times): status, redirect message, tail text, title. */
function outcome(reply: HttpReply): string {
  if (reply.status === 301) {
    const message = redirectMessage(reply);
    return `301 ${CTIME.test(message) ? message.replace(CTIME, '<ctime>') : message}`;
  }
  const title = /<title[^>]*>([^<]*)<\/title>/.exec(reply.body)?.[1];
  const pre = /<pre[^>]*>([\s\S]*?)<\/pre>/.exec(reply.body)?.[1];
  if (pre !== undefined) return `${reply.status} ${unescapeHtml(title ?? '')} | ${unescapeHtml(pre)}`;
  if (reply.body.includes('<tbody')) return `${reply.status} ${unescapeHtml(title ?? '')}\n${tableRows(reply.body).join('\n')}`;
  return `${reply.status}${reply.body === 'OK' ? ' OK' : ''}`;
}

// Not compared: HEAD (Medusa answers it with a 404 *with* a body, which no HTTP client parses).
type StepOptions = { auth?: null; method?: string; body?: string; until?: (outcome: string) => boolean };
const STEPS: [label: string, path: string, options?: StepOptions][] = [
  ['no credentials', 'index.html', { auth: null }],
  ['status page', ''],
  ['start in a group', 'index.html?processname=pool%3Aworker_1&action=start'],
  // The worker's one line reaches its log some time after the start: ask until it is there, on both daemons.
  ['tail in a group', 'tail.html?processname=pool:worker_1', { until: (outcome) => outcome.includes('worker 1') }],
  ['start a running process', 'index.html?processname=sleeper&action=start'],
  ['stop a stopped process', 'index.html?processname=manual&action=stop'],
  ['start', 'index.html?processname=manual&action=start'],
  ['restart', 'index.html?processname=manual&action=restart'],
  ['stop', 'index.html?processname=manual&action=stop'],
  ['restart a stopped process', 'index.html?processname=manual&action=restart'],
  ['stop again', '?processname=manual&action=stop'],
  ['start a missing command', 'index.html?processname=broken&action=start'],
  ['clear a log', 'index.html?processname=sleeper&action=clearlog'],
  ['tail after the clear', 'tail.html?processname=sleeper'],
  ['unknown process', 'index.html?processname=nosuch&action=stop'],
  ['group spec without a process', 'index.html?processname=sleeper:&action=stop'],
  ['unknown action', 'index.html?processname=sleeper&action=bogus'],
  ['action without a process', 'index.html?action=start'],
  ['blank process name', 'index.html?processname=&action=start'],
  ['refresh', 'index.html?action=refresh'],
  ['a form posted', 'index.html', { method: 'POST', body: 'processname=manual&action=start' }],
  ['tail of an unknown process', 'tail.html?processname=nosuch&limit=5000'],
  ['tail without a name', 'tail.html'],
  ['ok', 'ok.html'],
  ['unknown page', 'nosuch.html'],
  ['stop all', 'index.html?action=stopall'],
  ['restart all', 'index.html?action=restartall'],
  ['status page after', 'index.html?message=after'],
];

/** A group of two besides the shared programs: namespecs `pool:worker_0`, `pool:worker_1`. */
const WITH_GROUP = `${CONSOLE_PROGRAMS}
[program:worker]
command=/bin/sh -c 'echo worker %(process_num)s; exec sleep 1000'
process_name=%(program_name)s_%(process_num)s
numprocs=2
autostart=false
startsecs=0

[group:pool]
programs=worker
`;

async function runSteps(peer: Peer): Promise<string[]> {
  const { base } = await startPeer(peer, dir, launch, WITH_GROUP);
  const outcomes: string[] = [];
  for (const [label, path, options] of STEPS) {
    let seen = outcome(await http(base, path, options));
    if (options?.until) {
      const { until } = options;
      await waitFor(`${label} on ${peer}`, async () => until((seen = outcome(await http(base, path, options)))));
    }
    outcomes.push(`${label}: ${seen}`);
  }
  return outcomes;
}

describeWithPeers([REAL_SUPERVISORD])('the console against supervisord 4.2.5', () => {
  it('answers every request as supervisord 4.2.5 does (status, redirect, message, tail text)', async () => {
    const real = await runSteps('real');
    const ours = await runSteps('ours');
    expect(ours).toEqual(real);
    // The comparison holds something: the messages are the ones users see.
    expect(ours).toContain('restart: 301 Process manual restarted');
    expect(ours).toContain('stop a stopped process: 301 unexpected rpc fault [70] NOT_RUNNING: manual');
    expect(ours).toContain('stop all: 301 All stopped at <ctime>');
    expect(ours).toContain('no credentials: 401');
    expect(ours).toContain('start in a group: 301 Process pool:worker_1 started');
    const after = ours.find((line) => line.startsWith('status page after'))?.split('\n') ?? [];
    expect(after).toHaveLength(6);
    expect(after[3]).toBe(
      'running | statusrunning | pid N, uptime N:N:N | pool:worker_0 | tail.html?processname=pool%3Aworker_0 | Restart=index.html?processname=pool%3Aworker_0&action=restart Stop=index.html?processname=pool%3Aworker_0&action=stop Clear Log=index.html?processname=pool%3Aworker_0&action=clearlog Tail -f Stdout=logtail/pool%3Aworker_0 Tail -f Stderr=logtail/pool%3Aworker_0/stderr',
    );
  });
});

describe('our console', () => {
  it('shows the processes sorted, with state, description, restarts, memory and the actions each state allows', async () => {
    const { base } = await startPeer('ours', dir, launch);
    const page = await http(base, '/?message=%3Cb%3Edone%3C/b%3E');
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html;charset=utf-8');
    expect(page.headers['cache-control']).toBe('no-cache');
    const names = [...page.body.matchAll(/data-namespec="([^"]+)"/g)].map((match) => match[1]);
    expect(names).toEqual(['broken', 'manual', 'sleeper']);
    expect(page.body).toContain('<div id="statusmessage" class="status_msg" role="status">&lt;b&gt;done&lt;/b&gt;</div>');
    const row = (name: string): string => new RegExp(`<tr data-namespec="${name}"[\\s\\S]*?</tr>`).exec(page.body)?.[0] ?? '';
    expect(row('sleeper')).toContain('<span class="statusrunning">running</span>');
    expect(row('sleeper')).toMatch(/pid \d+, uptime 0:00:\d\d/);
    expect([...row('sleeper').matchAll(/>([^<>]+)<\/a><\/li>/g)].map((m) => m[1])).toEqual(['Restart', 'Stop', 'Clear Log', 'Tail -f Stdout', 'Tail -f Stderr']);
    expect(row('manual')).toContain('<span class="statusnominal">stopped</span>');
    expect([...row('manual').matchAll(/>([^<>]+)<\/a><\/li>/g)].map((m) => m[1])).toEqual(['Start', 'Clear Log', 'Tail -f Stdout', 'Tail -f Stderr']);
    expect(row('broken')).toContain('<span class="statuserror">fatal</span>');

    const before = await http(base, 'console/processes.json');
    expect(before.headers['content-type']).toBe('application/json');
    const sleeper = (reply: HttpReply): { restarts: number; residentBytes: number; status: string; description: string } =>
      (JSON.parse(reply.body) as { rows: { namespec: string; restarts: number; residentBytes: number; status: string; description: string }[] }).rows.find((r) => r.namespec === 'sleeper')!;
    expect(sleeper(before).restarts).toBe(0);
    expect(sleeper(before).residentBytes).toBeGreaterThan(0);
    expect(redirectMessage(await http(base, 'index.html?processname=sleeper&action=restart'))).toBe('Process sleeper restarted');
    const after = await http(base, 'console/processes.json');
    expect(sleeper(after).restarts).toBe(1);
    expect(sleeper(after).status).toBe('running');
    expect(sleeper(after).description).not.toBe(sleeper(before).description);
  });

  it('serves the console on the unix socket too, behind its credentials, redirecting to the Host it was asked on', async () => {
    const socketPath = dir.file('console.sock');
    const { base } = await startPeer('ours', dir, launch, undefined, `[unix_http_server]\nfile=${socketPath}\nusername=${CONSOLE_USER}\npassword=${CONSOLE_PASSWORD}\n`);
    expect((await http(base, 'index.html', { socketPath, auth: null })).status).toBe(401);
    const page = await http(base, 'index.html', { socketPath });
    expect(page.status).toBe(200);
    expect(page.body).toContain('data-namespec="sleeper"');
    const reply = await http(base, 'index.html?processname=manual&action=start', { socketPath });
    expect(reply.headers.location).toBe('http://localhost/?message=Process%20manual%20started');
  });

  it('keeps the pages and the rows behind the RPC credentials, and redirects to the Host it was asked on', async () => {
    const { base } = await startPeer('ours', dir, launch);
    for (const path of ['', 'index.html', 'tail.html?processname=sleeper', 'console/processes.json', 'stylesheets/supervisor.css']) {
      expect((await http(base, path, { auth: null })).status, path).toBe(401);
      expect((await http(base, path, { auth: 'operator:wrong' })).status, path).toBe(401);
    }
    const reply = await http(base, 'index.html?action=refresh');
    expect(reply.status).toBe(301);
    expect(String(reply.headers.location)).toMatch(new RegExp(`^${base}/\\?message=Page%20refreshed%20at%20`));
  });

  it('tails a log: the last 1024 bytes unless the limit asks for more, a refresh link keeping the limit', async () => {
    const { base } = await startPeer('ours', dir, launch, `[program:chatty]
command=/bin/sh -c 'i=0; while [ $i -lt 600 ]; do i=$((i+1)); echo "line $i <&>"; done; exec sleep 1000'
startsecs=0
`);
    await waitFor('the 600 lines in the log', async () => (await http(base, 'tail.html?processname=chatty')).body.includes('line 600 &lt;&amp;&gt;'));
    const small = /<pre[^>]*>([\s\S]*?)<\/pre>/.exec((await http(base, 'tail.html?processname=chatty&limit=10')).body)?.[1] ?? '';
    expect(Buffer.byteLength(unescapeHtml(small))).toBe(1024);
    const big = await http(base, 'tail.html?processname=chatty&limit=4000');
    expect(Buffer.byteLength(unescapeHtml(/<pre[^>]*>([\s\S]*?)<\/pre>/.exec(big.body)?.[1] ?? ''))).toBe(4000);
    expect(big.body).toContain('href="tail.html?processname=chatty&amp;limit=4000"');
  });
});

describe('console helpers', () => {
  it('formats times as Python\'s ctime', () => {
    expect(ctime(new Date(2026, 11, 7, 0, 49, 20))).toBe('Mon Dec  7 00:49:20 2026');
    expect(ctime(new Date(2026, 10, 22, 16, 5, 9))).toBe('Sun Nov 22 16:05:09 2026');
  });

  it('builds the form as web.py: first query value, POSTed values over it, blanks dropped', () => {
    const form = consoleForm('processname=a&processname=b&action=&limit=5', 'action=stop&action=start');
    expect([...form]).toEqual([
      ['processname', 'a'],
      ['limit', '5'],
      ['action', 'start'],
    ]);
  });

  it('reads limits, quotes names and formats sizes', () => {
    expect([tailLimit(undefined), tailLimit('10'), tailLimit('4000'), tailLimit('-5'), tailLimit('x')]).toEqual([1024, 1024, 4000, 1024, 1024]);
    expect(pythonQuote('group:name with space/x&y')).toBe('group%3Aname%20with%20space/x%26y');
    expect([formatBytes(0), formatBytes(512), formatBytes(1536), formatBytes(5 * 1024 * 1024)]).toEqual(['', '512 B', '1.5 KiB', '5.0 MiB']);
    expect([serverUrlOf('127.0.0.1:9001', 'x'), serverUrlOf('example.com:80', 'x'), serverUrlOf(undefined, 'localhost')]).toEqual([
      'http://127.0.0.1:9001',
      'http://example.com',
      'http://localhost',
    ]);
  });

  it('offers the actions each state allows, with supervisord\'s state classes, every text escaped', () => {
    const info = (name: string, state: ProcessState, group = name): ProcessInfo => ({
      name,
      group,
      start: state === ProcessState.RUNNING ? 1000 : 0,
      stop: 0,
      now: 1065,
      state,
      spawnerr: state === ProcessState.BACKOFF ? 'Exited too quickly <&>' : '',
      exitstatus: 0,
      stdoutLogfile: '',
      stderrLogfile: '',
      pid: 0,
      priority: 999,
    });
    // A stand-in holding only what consoleRows reads (pure logic: no process, no server).
    const control = {
      processes: () => [
        info('zeta', ProcessState.STARTING),
        info('w', ProcessState.BACKOFF, 'g'),
        info('a', ProcessState.RUNNING, 'g'),
        info('exited', ProcessState.EXITED),
        info('going', ProcessState.STOPPING),
      ],
      processCounters: () => ({ starts: 3, exits: { expected: 0, unexpected: 2, stopped: 0 } }),
    } as unknown as SupervisorControl;
    const rows = consoleRows(control);
    expect(rows.map((row) => `${row.namespec} ${row.status} ${row.statusClass} ${row.actions.map((a) => a?.name ?? '-').join(',')} ${row.restarts}`)).toEqual([
      'exited exited statusnominal Start,-,Clear Log,Tail -f Stdout,Tail -f Stderr 2',
      'g:a running statusrunning Restart,Stop,Clear Log,Tail -f Stdout,Tail -f Stderr 2',
      'g:w backoff statuserror -,-,Clear Log,Tail -f Stdout,Tail -f Stderr 2',
      'going stopping statusnominal -,-,Clear Log,Tail -f Stdout,Tail -f Stderr 2',
      'zeta starting statusnominal -,-,Clear Log,Tail -f Stdout,Tail -f Stderr 2',
    ]);
    expect(rows[1]?.description).toBe('pid 0, uptime 0:01:05');
    const page = renderStatusPage(rows, 'a <script>alert(1)</script> message');
    expect(page).toContain('Exited too quickly &lt;&amp;&gt;');
    expect(page).not.toContain('<script>alert(1)');
    expect(page).toContain('href="index.html?processname=g%3Aa&amp;action=restart" aria-label="Restart g:a"');
    expect(renderStatusPage([], undefined)).toContain('No programs to manage');
    const tail = renderTailPage('x"><img src=y>', '</pre><b>bold</b>', 2048);
    expect(tail).toContain('<title>Supervisor tail of process x&quot;&gt;&lt;img src=y&gt;</title>');
    expect(tail).toContain('&lt;/pre&gt;&lt;b&gt;bold&lt;/b&gt;</pre>');
    expect(tail).toContain('href="tail.html?processname=x%22%3E%3Cimg%20src%3Dy%3E&amp;limit=2048"');
  });
});
