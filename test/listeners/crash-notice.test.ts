// The crash notice as an [eventlistener] of a real supervisord, posting to a real local HTTP server
// that fails its first attempts: the notice arrives, with the program's last stderr lines.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { waitFor } from '../support/wait.js';
import { DAEMONS, daemonStarter, describeDaemon, listenerProgram, type RunningDaemon } from './harness.js';

interface Received {
  body: unknown;
  status: number;
}

/** A webhook that answers 503 to its first `failures` requests, then 200. */
async function webhook(failures: number): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = received.length < failures ? 503 : 200;
      received.push({ body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown, status });
      res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received };
}

for (const peer of DAEMONS) {
  describeDaemon(peer, 'crash notice', () => {
    const start = daemonStarter(peer);
    let daemon: RunningDaemon | null = null;
    let hook: Awaited<ReturnType<typeof webhook>>;
    beforeEach(async () => {
      hook = await webhook(2);
    });
    afterEach(async () => {
      await daemon?.stop();
      daemon = null;
      hook.server.close();
    });

    const crashSections = () => `
[program:crasher]
command=/bin/sh -c "echo working; echo 'step 1 failed' >&2; echo 'fatal: database gone' >&2; sleep 1; exit 3"
startsecs=0
autorestart=false
stderr_logfile=%(here)s/crasher.err.log

[program:quitter]
command=/bin/sh -c "exit 0"
startsecs=0
autorestart=false

[eventlistener:crash-notice]
command=${process.execPath} ${listenerProgram('crash-notice')} --url ${hook.url} --retry-after 0.1
events=PROCESS_STATE_EXITED,PROCESS_STATE_FATAL
stderr_logfile=%(here)s/crash-notice.log
`;

    it('posts a JSON notice of an unexpected exit, retried until the webhook takes it', async () => {
      daemon = await start('crash', crashSections);
      const running = daemon;
      await waitFor('a delivered notice', () => hook.received.some((r) => r.status === 200), { timeoutMs: 30_000 });
      expect(hook.received.map((r) => r.status)).toEqual([503, 503, 200]);
      const body = hook.received[2]?.body as Record<string, unknown>;
      expect(body).toMatchObject({
        program: 'crasher',
        group: 'crasher',
        state: 'EXITED',
        from_state: 'RUNNING',
        exit_status: 3,
        expected: false,
        stderr_tail: ['step 1 failed', 'fatal: database gone'],
      });
      expect(typeof body.host).toBe('string');
      expect(Number.isNaN(Date.parse(String(body.time)))).toBe(false);
      // The listener's stderr reaches the file through supervisord: poll for it.
      await waitFor('the delivered line', () => running.read('crash-notice.log').includes('crash notice for crasher (EXITED) delivered on attempt 3'));
      // The expected exit (status 0) of quitter sent nothing.
      expect(hook.received.every((r) => (r.body as { program: string }).program === 'crasher')).toBe(true);
    });

    it('posts a FATAL notice in the shape of a Slack message', async () => {
      daemon = await start('fatal', () => `
[program:broken]
command=/bin/sh -c "echo 'cannot bind' >&2; exit 1"
startsecs=1
startretries=0
stderr_logfile=%(here)s/broken.err.log

[eventlistener:crash-notice]
command=${process.execPath} ${listenerProgram('crash-notice')} --url ${hook.url} --format slack --retry-after 0.1
events=PROCESS_STATE
stderr_logfile=%(here)s/crash-notice.log
`);
      await waitFor('a delivered notice', () => hook.received.some((r) => r.status === 200), { timeoutMs: 30_000 });
      const text = (hook.received.at(-1)?.body as { text: string }).text;
      expect(text).toMatch(/broken entered FATAL/);
      expect(text).toContain('cannot bind');
      expect(Object.keys(hook.received.at(-1)?.body as object)).toEqual(['text']);
    });
  });
}
