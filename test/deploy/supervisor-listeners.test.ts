// The event listeners of the image's supervisor/supervisord.conf: what the reference supervisord makes of
// them, and the same [eventlistener:x] sections run by a real supervisord beside two programs, the way
// `docker logs` sees its stdout. MEMMON_OPTIONS and CRASH_NOTICE_URL unset: those two stay idle.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { daemonStarter, DAEMONS, describeDaemon, type RunningDaemon } from '../listeners/harness.js';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';
import { readRepoFile, repoFile, requireCommand, run } from './support/files.js';

const listener = z.object({
  name: z.string(),
  command: z.string(),
  events: z.array(z.string()),
  buffer_size: z.number(),
  user: z.string().nullable(),
  stdout_logfile: z.string().nullable(),
  stderr_logfile: z.string().nullable(),
  stderr_logfile_maxbytes: z.number(),
});
const reference = z.object({
  programs: z.array(z.object({ name: z.string(), stdout_events_enabled: z.boolean(), stderr_events_enabled: z.boolean() })),
  eventlisteners: z.array(listener),
});

const IMAGE_CONF = readRepoFile('supervisor/supervisord.conf');

/** The [eventlistener:x] sections of the image's config, pointed at this checkout's dist/. */
function imageListenerSections(): string {
  const sections = IMAGE_CONF.split(/^(?=\[)/m).filter((text) => text.startsWith('[eventlistener:'));
  return sections
    .map((text) => text.replaceAll('node /app/dist/', `${process.execPath} ${ROOT}dist/`).replace(/^user=app$/m, ''))
    .join('\n');
}

describe('supervisor/supervisord.conf event listeners (reference supervisord)', () => {
  requireCommand('supervisord', 'supervisor');
  const dir = mkdtempSync(`${os.tmpdir()}/storyboard-listeners-`);
  writeFileSync(`${dir}/supervisord.conf`, IMAGE_CONF.replace(/^user=app$/gm, 'user=nobody'));
  const result = run('/usr/bin/python3', [repoFile('test/deploy/support/reference-supervisor.py'), `${dir}/supervisord.conf`], { cwd: dir });
  rmSync(dir, { recursive: true, force: true });
  const conf = reference.parse(JSON.parse(result.stdout));

  it('has the three listeners, their own lines sent to supervisord stdout', () => {
    expect(conf.eventlisteners.map((l) => l.name).sort()).toEqual(['crash-notice', 'log-forwarder', 'memmon']);
    for (const l of conf.eventlisteners) {
      expect(l.stderr_logfile, l.name).toBe('/dev/stdout');
      expect(l.stderr_logfile_maxbytes, l.name).toBe(0);
      // The protocol channel is not worth a file.
      expect(l.stdout_logfile, l.name).toBeNull();
      const bundle = /^node (\/app\/dist\/[\w-]+\.js)(?: --[\w-]+)*$/.exec(l.command)?.[1];
      expect(bundle, l.command).toBeDefined();
      expect(existsSync(`${ROOT}dist/${bundle?.slice('/app/dist/'.length)}`)).toBe(true);
    }
    const byName = new Map(conf.eventlisteners.map((l) => [l.name, l]));
    expect(byName.get('log-forwarder')?.events).toEqual(['PROCESS_LOG']);
    expect(byName.get('log-forwarder')?.buffer_size).toBeGreaterThanOrEqual(100);
    expect(byName.get('log-forwarder')?.user).toBe('nobody');
    expect(byName.get('memmon')?.events).toEqual(['TICK_5']);
    expect(byName.get('crash-notice')?.events).toEqual(['PROCESS_STATE_EXITED', 'PROCESS_STATE_FATAL']);
  });

  it('sends every line of api and task-processor to the forwarder', () => {
    expect(conf.programs.map((p) => [p.name, p.stdout_events_enabled, p.stderr_events_enabled])).toEqual([
      ['api', true, true],
      ['task-processor', true, true],
    ]);
  });

  it('ships the listeners as package bins', () => {
    const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { bin: Record<string, string> };
    for (const name of ['log-forwarder', 'memory-monitor', 'crash-notice']) {
      expect(pkg.bin[`storyboard-${name}`]).toBe(`bin/${name}.js`);
      expect(readFileSync(`${ROOT}bin/${name}.js`, 'utf8')).toContain(`../dist/${name}.js`);
    }
  });
});

for (const peer of DAEMONS) {
  describeDaemon(peer, "the image's listener sections", () => {
    const start = daemonStarter(peer);
    let daemon: RunningDaemon | null = null;
    afterEach(async () => {
      await daemon?.stop();
      daemon = null;
    });

    it("put the programs' lines on supervisord's stdout; memmon and crash-notice idle without their settings", async () => {
      daemon = await start('image', () => `
[program:api]
command=/bin/sh -c 'echo "{\\"level\\":30,\\"msg\\":\\"Server listening at http://0.0.0.0:8000\\"}"; exec sleep 1000'
startsecs=0
stdout_events_enabled=true
stderr_events_enabled=true

[program:task-processor]
command=/bin/sh -c 'echo "processor started"; echo "warning: slow poll" >&2; exec sleep 1000'
startsecs=0
stdout_events_enabled=true
stderr_events_enabled=true

${imageListenerSections()}
`);
      const running = daemon;
      await waitFor('program lines on stdout', () => {
        const out = running.stdout();
        return out.includes('task-processor | processor started') && out.includes('task-processor (stderr) | warning: slow poll') && out.includes('"program":"api"');
      });
      const apiLine = running.stdout().split('\n').find((line) => line.includes('"program":"api"')) ?? '';
      expect(JSON.parse(apiLine)).toEqual({ program: 'api', stream: 'stdout', level: 30, msg: 'Server listening at http://0.0.0.0:8000' });
      await waitFor('idle notices', () => {
        const out = running.stdout();
        return out.includes('INFO memmon: no memory limits set (MEMMON_OPTIONS is empty): idle') && out.includes('INFO crash-notice: no webhook set (CRASH_NOTICE_URL is empty): idle');
      });
      expect(running.stdout()).toMatch(/INFO spawned: 'api' with pid \d+/);
    });
  });
}
