// docker/Dockerfile and .dockerignore, checked offline: two linters, then what the issue asks of the image.
import { describe, expect, it } from 'vitest';
import { validate } from 'dockerfile-utils';
import { z } from 'zod';
import { readRepoFile, repoFile, run } from './support/files.js';
import { ROOT } from '../support/programs.js';

const DOCKERFILE = 'docker/Dockerfile';
const text = readRepoFile(DOCKERFILE);

interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

/** Instructions with continuation lines joined and comments dropped. */
function instructions(source: string): Instruction[] {
  const result: Instruction[] = [];
  let pending = '';
  let start = 0;
  source.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (!pending) start = index + 1;
    pending += pending ? ` ${line}` : line;
    if (pending.endsWith('\\')) {
      pending = pending.slice(0, -1).trimEnd();
      return;
    }
    const match = /^(\S+)\s*(.*)$/.exec(pending)!;
    result.push({ keyword: match[1]!.toUpperCase(), args: match[2]!, line: start });
    pending = '';
  });
  return result;
}

const all = instructions(text);
const stages: Instruction[][] = [];
for (const instruction of all) {
  if (instruction.keyword === 'FROM') stages.push([]);
  stages.at(-1)?.push(instruction);
}
const finalStage = stages.at(-1) ?? [];
const inFinal = (keyword: string) => finalStage.filter((i) => i.keyword === keyword);
const execForm = (args: string): string[] => z.array(z.string()).parse(JSON.parse(args));

const dockerfilelintReport = z.object({
  totalIssues: z.number(),
  files: z.array(z.object({ issues: z.array(z.object({ line: z.coerce.number(), title: z.string(), description: z.string() })) })),
});

describe('docker/Dockerfile', () => {
  it('has no syntax or semantic problems (dockerfile-utils)', () => {
    const problems = validate(text).map((d) => `line ${d.range.start.line + 1}: ${typeof d.message === 'string' ? d.message : d.message.value}`);
    expect(problems).toEqual([]);
  });

  it('passes the best-practice checks (dockerfilelint)', () => {
    const result = run(`${ROOT}node_modules/.bin/dockerfilelint`, ['-j', repoFile(DOCKERFILE)]);
    const report = dockerfilelintReport.parse(JSON.parse(result.stdout));
    const issues = report.files.flatMap((f) => f.issues.map((i) => `line ${i.line}: ${i.title}: ${i.description}`));
    expect(issues).toEqual([]);
    expect(result.status).toBe(0);
  });

  it('is multi-stage on a maintained Node LTS slim base, tag pinned', () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    for (const stage of stages) {
      const from = stage[0]!.args.split(/\s+/)[0]!;
      const match = /^node:(\d+)-bookworm-slim$/.exec(from);
      expect(match, `FROM ${from}`).not.toBeNull();
      // Node 20 left maintenance in April 2026; 22 and 24 are the maintained LTS lines.
      expect(Number(match![1])).toBeGreaterThanOrEqual(22);
      expect(Number(match![1]) % 2).toBe(0);
    }
  });

  it('builds TypeScript in an earlier stage and ships production dependencies only', () => {
    const earlier = stages.slice(0, -1).flat();
    expect(earlier.some((i) => i.keyword === 'RUN' && /npm run build/.test(i.args))).toBe(true);
    const productionInstall = earlier.find((i) => i.keyword === 'RUN' && /npm ci/.test(i.args) && /--omit=dev/.test(i.args));
    expect(productionInstall?.args).toMatch(/--omit=optional/);
    const copies = inFinal('COPY').map((i) => i.args);
    expect(copies.some((c) => /--from=\w+ \/app\/node_modules/.test(c))).toBe(true);
    expect(copies.some((c) => /--from=\w+ \/src\/dist/.test(c))).toBe(true);
    // No source, no dev install in the final stage.
    expect(copies.some((c) => /^src\b|\bsrc \./.test(c))).toBe(false);
    expect(inFinal('RUN').some((i) => /npm (ci|install)/.test(i.args))).toBe(false);
  });

  it('runs tini as PID 1 and our supervisord as the command, with the config supervisorctl finds by default', () => {
    const entrypoint = execForm(inFinal('ENTRYPOINT').at(-1)!.args);
    expect(entrypoint.slice(0, 2)).toEqual(['/usr/bin/tini', '--']);
    expect(inFinal('RUN').some((i) => /apt-get install .*\btini\b/.test(i.args))).toBe(true);
    const cmd = execForm(inFinal('CMD').at(-1)!.args);
    expect(cmd).toEqual(['supervisord', '-n', '-c', '/etc/supervisor/supervisord.conf']);
    expect(inFinal('COPY').some((i) => i.args === 'supervisor/supervisord.conf /etc/supervisor/supervisord.conf')).toBe(true);
    const onPath = inFinal('COPY').find((i) => i.args.endsWith('/usr/local/bin/'))?.args ?? '';
    expect(onPath).toContain('docker/bin/supervisorctl');
    expect(onPath).toContain('docker/bin/supervisord');
    expect(readRepoFile('docker/bin/supervisorctl')).toMatch(/exec node \/app\/dist\/supervisorctl\.cjs "\$@"/);
    // V8 flags may come first (lite mode keeps supervisord's memory low).
    expect(readRepoFile('docker/bin/supervisord')).toMatch(/exec node (--[\w-]+(=\S+)? )*\/app\/dist\/supervisord\.js "\$@"/);
  });

  it('creates the unprivileged user the programs run as, and a HEALTHCHECK on /healthz', () => {
    expect(inFinal('RUN').some((i) => /useradd --system --gid app .* app\b/.test(i.args))).toBe(true);
    const healthcheck = inFinal('HEALTHCHECK').at(-1)?.args ?? '';
    expect(healthcheck).toMatch(/CMD \["healthcheck"\]$/);
    expect(readRepoFile('docker/bin/healthcheck')).toContain('/healthz');
    expect(inFinal('EXPOSE').map((i) => i.args)).toEqual(['8000']);
  });
});

describe('.dockerignore', () => {
  const rules = readRepoFile('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));

  it('starts from nothing and lets in exactly what the Dockerfile copies', () => {
    expect(rules[0]).toBe('*');
    const allowed = rules.filter((r) => r.startsWith('!')).map((r) => r.slice(1).replace(/\/$/, ''));
    const sources = all
      .filter((i) => i.keyword === 'COPY' && !i.args.startsWith('--from'))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    for (const source of sources) {
      expect(allowed.some((a) => source === a || source.startsWith(`${a}/`)), `${source} is in the build context`).toBe(true);
    }
    for (const kept of ['node_modules', '.data', 'dist', 'logs', '.git', '.env']) {
      expect(allowed.some((a) => a === kept || a.startsWith(`${kept}/`)), `${kept} stays out`).toBe(false);
    }
  });
});
