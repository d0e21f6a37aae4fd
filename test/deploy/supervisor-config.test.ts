// supervisor/supervisord.conf (container) and supervisord.dev.conf (npm start), read by the reference
// implementation (Debian's Python supervisor, the dialect our supervisord follows) and checked against the
// operations guide.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { readRepoFile, repoFile, requireCommand, run } from './support/files.js';

const program = z.object({
  name: z.string(),
  priority: z.number(),
  command: z.string(),
  directory: z.string().nullable(),
  user: z.string().nullable(),
  autostart: z.boolean(),
  autorestart: z.enum(['true', 'false', 'unexpected']),
  startsecs: z.number(),
  startretries: z.number(),
  stopwaitsecs: z.number(),
  stopsignal: z.number(),
  stdout_logfile: z.string().nullable(),
  stdout_logfile_maxbytes: z.number(),
  stdout_logfile_backups: z.number(),
  stderr_logfile: z.string().nullable(),
  stderr_logfile_maxbytes: z.number(),
  stderr_logfile_backups: z.number(),
  environment: z.record(z.string(), z.string()),
});
const understood = z.object({
  nodaemon: z.boolean(),
  logfile: z.string().nullable(),
  socket: z.string().nullable(),
  serverurl: z.string(),
  programs: z.array(program),
});
type Understood = z.infer<typeof understood>;

const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-supconf-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** What the Python supervisord makes of a config file, with the given environment. */
function readWithReference(file: string, env: Record<string, string> = {}): Understood {
  requireCommand('supervisord', 'supervisor');
  const result = run('/usr/bin/python3', [repoFile('test/deploy/support/reference-supervisor.py'), file], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    cwd: scratch,
  });
  if (result.status !== 0) throw new Error(`the reference supervisord refused ${file}:\n${result.stderr}`);
  return understood.parse(JSON.parse(result.stdout));
}

const SIGTERM = os.constants.signals.SIGTERM;
const byName = (u: Understood, name: string) => {
  const found = u.programs.find((p) => p.name === name);
  if (!found) throw new Error(`no program ${name}`);
  return found;
};

describe('supervisor/supervisord.conf (container)', () => {
  // The file as installed, except `user=app`: that user exists in the image, not on this machine.
  const rendered = path.join(scratch, 'supervisord.conf');
  writeFileSync(rendered, readRepoFile('supervisor/supervisord.conf').replace(/^user=app$/gm, 'user=nobody'));
  const conf = readWithReference(rendered);

  it('runs api and task-processor with the guide keys', () => {
    expect(conf.programs.map((p) => p.name)).toEqual(['api', 'task-processor']);
    for (const p of conf.programs) {
      expect(p, p.name).toMatchObject({
        autostart: true,
        autorestart: 'true',
        startretries: 10,
        startsecs: 5,
        stopwaitsecs: 30,
        stopsignal: SIGTERM,
        user: 'nobody',
        directory: '/app',
        command: `node /app/dist/${p.name}.js`,
      });
    }
    // Lower number starts first and stops last: the processor stops while the api still answers.
    expect(byName(conf, 'api').priority).toBeLessThan(byName(conf, 'task-processor').priority);
  });

  it('logs each program to /var/log/supervisor/<program>.{out,err}.log, rotated', () => {
    for (const p of conf.programs) {
      expect(p.stdout_logfile).toBe(`/var/log/supervisor/${p.name}.out.log`);
      expect(p.stderr_logfile).toBe(`/var/log/supervisor/${p.name}.err.log`);
      for (const [bytes, backups] of [
        [p.stdout_logfile_maxbytes, p.stdout_logfile_backups],
        [p.stderr_logfile_maxbytes, p.stderr_logfile_backups],
      ] as const) {
        expect(bytes).toBeGreaterThan(0);
        expect(backups).toBeGreaterThan(0);
      }
    }
    expect(byName(conf, 'task-processor').environment.TASK_PROCESSOR_LOG_FILE).toBe('/app/logs/task_processor.log');
  });

  it('serves the control socket where supervisorctl looks when given no -c, in the foreground', () => {
    expect(conf.nodaemon).toBe(true);
    expect(conf.socket).toBe('/var/run/supervisor.sock');
    expect(conf.serverurl).toBe(`unix://${conf.socket}`);
    // The Dockerfile installs it at the second-to-last place of supervisorctl's search path.
    expect(readRepoFile('docker/Dockerfile')).toContain('COPY supervisor/supervisord.conf /etc/supervisor/supervisord.conf');
    expect(readRepoFile('supervisor/supervisord.conf')).toMatch(/^\[rpcinterface:supervisor\]$/m);
  });
});

describe('supervisor/supervisord.dev.conf (npm start)', () => {
  // A checkout in miniature: the file beside the logs/ and .data/ folders that scripts/start.mjs creates.
  const checkout = path.join(scratch, 'checkout');
  for (const dir of ['supervisor', 'logs', '.data']) mkdirSync(path.join(checkout, dir), { recursive: true });
  const file = path.join(checkout, 'supervisor', 'supervisord.dev.conf');
  copyFileSync(repoFile('supervisor/supervisord.dev.conf'), file);
  const here = path.join(checkout, 'supervisor');

  it('starts the database first, then the simulator, the api and the processor', () => {
    const conf = readWithReference(file, { STORYBOARD_DATABASE_AUTOSTART: 'true', STORYBOARD_SIMULATOR_AUTOSTART: 'true', STORYBOARD_APP_AUTOSTART: 'true' });
    const order = [...conf.programs].sort((a, b) => a.priority - b.priority).map((p) => p.name);
    expect(order).toEqual(['database', 'runninghub-simulator', 'api', 'task-processor']);
    for (const p of conf.programs) {
      expect(p.autostart, p.name).toBe(true);
      expect(p.command).toBe(`node dist/${p.name}.js`);
      expect(p.directory).toBe(`${here}/..`);
      expect(p.stdout_logfile).toBe(`${here}/../logs/${p.name}.out.log`);
      expect(p.stopsignal).toBe(SIGTERM);
    }
    expect(byName(conf, 'database').environment.EMBEDDED_DATABASE_DIR).toBe(`${here}/../.data/postgres`);
    expect(byName(conf, 'task-processor').environment.TASK_PROCESSOR_LOG_FILE).toBe(`${here}/../logs/task_processor.log`);
    const socket = path.join(checkout, '.data', 'supervisor.sock');
    expect(path.normalize(conf.socket ?? '')).toBe(socket);
    expect(conf.serverurl).toBe(`unix://${socket}`);
  });

  it('leaves out the embedded parts when the start script says so', () => {
    const conf = readWithReference(file, { STORYBOARD_DATABASE_AUTOSTART: 'false', STORYBOARD_SIMULATOR_AUTOSTART: 'false', STORYBOARD_APP_AUTOSTART: 'true' });
    expect(byName(conf, 'database').autostart).toBe(false);
    expect(byName(conf, 'runninghub-simulator').autostart).toBe(false);
    expect(byName(conf, 'api').autostart).toBe(true);
  });

  it('runs only the embedded parts for `npm run db`', () => {
    const conf = readWithReference(file, { STORYBOARD_DATABASE_AUTOSTART: 'true', STORYBOARD_SIMULATOR_AUTOSTART: 'true', STORYBOARD_APP_AUTOSTART: 'false' });
    expect(conf.programs.filter((p) => p.autostart).map((p) => p.name).sort()).toEqual(['database', 'runninghub-simulator']);
  });

  it('expands only the variables scripts/start.mjs sets', () => {
    const used = [...readFileSync(file, 'utf8').matchAll(/%\(ENV_(\w+)\)s/g)].map((m) => m[1]!);
    expect(new Set(used)).toEqual(new Set(['STORYBOARD_DATABASE_AUTOSTART', 'STORYBOARD_SIMULATOR_AUTOSTART', 'STORYBOARD_APP_AUTOSTART']));
    const start = readRepoFile('scripts/start.mjs');
    for (const variable of used) expect(start).toMatch(new RegExp(`env\\.${variable} = ('true'|.*\\? 'false' : 'true')`));
    // Without them the file is refused, by name: the start script is the way to run it.
    expect(() => readWithReference(file)).toThrow(/ENV_STORYBOARD_DATABASE_AUTOSTART/);
  });
});
