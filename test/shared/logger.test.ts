import { existsSync, mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT } from '../support/programs.js';
import { waitFor } from '../support/wait.js';

const FIXTURE = path.join(ROOT, 'test/shared/fixtures/log-lines.ts');
const children: ResultPromise[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill();
});

function start(env: Record<string, string>) {
  const child = execa(process.execPath, ['--import', 'tsx', FIXTURE], {
    env: { ...env },
    extendEnv: true,
    stdin: 'pipe',
    ipc: true,
    buffer: true,
    reject: false,
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const send = async (command: string): Promise<void> => {
    const done = new Promise<void>((resolve) => child.once('message', () => resolve()));
    child.stdin.write(`${command}\n`);
    await done;
  };
  return { child, send, stdout: () => out, stderr: () => err };
}

const parsed = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as { msg: string; event?: string; level: number });

describe('createLogger', () => {
  it('writes catalogued messages in Chinese by default, every line to stdout and warnings and errors to stderr', async () => {
    const program = start({ LOG_LANGUAGE: '' });
    for (const command of ['submit', 'fail', 'error', 'unknown']) await program.send(command);
    await waitFor('four stdout lines', () => parsed(program.stdout()).length === 4);
    const out = parsed(program.stdout());
    expect(out.map((line) => line.event)).toEqual(['task.submitted', 'task.failed', 'processor.error', 'not.in.catalogue']);
    expect(out[0]!.msg).toContain('提交任务');
    expect(out[0]!.msg).toContain('1883398809466175488');
    expect(out[1]!.msg).toMatch(/失败 RUNNINGHUB_805：out of memory/);
    expect(out[2]!.msg).toContain('错误');
    expect(out[3]!.msg).toBe('kept as written');
    await waitFor('three stderr lines', () => parsed(program.stderr()).length === 3);
    expect(parsed(program.stderr()).map((line) => line.event)).toEqual(['task.failed', 'processor.error', 'not.in.catalogue']);
  });

  it('switches to English with LOG_LANGUAGE=en', async () => {
    const program = start({ LOG_LANGUAGE: 'en' });
    await program.send('submit');
    await waitFor('a line', () => parsed(program.stdout()).length === 1);
    expect(parsed(program.stdout())[0]!.msg).toBe('submitted to RunningHub as task 1883398809466175488');
  });

  it('rotates its file by size and reopens it by name on SIGUSR2', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    const file = path.join(dir, 'task_processor.log');
    const program = start({ TEST_LOG_FILE: file, TEST_LOG_MAXBYTES: '600' });
    for (let i = 0; i < 6; i++) await program.send('submit');
    expect(existsSync(`${file}.1`)).toBe(true);
    expect(existsSync(`${file}.3`)).toBe(false);
    // logrotate's move, then the signal: new lines go to a fresh file by the old name.
    renameSync(file, `${file}.moved`);
    await program.send('reopen');
    await program.send('fail');
    expect(readFileSync(file, 'utf8')).toContain('"task.failed"');
  });

  it('keeps running on stdout when its file cannot be opened, saying so in one line on stderr', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    writeFileSync(path.join(dir, 'not-a-folder'), '');
    const program = start({ TEST_LOG_FILE: path.join(dir, 'not-a-folder', 'task_processor.log') });
    await program.send('submit');
    await waitFor('two stdout lines', () => parsed(program.stdout()).length === 2);
    const [warning] = parsed(program.stderr());
    expect(warning).toMatchObject({ event: 'logger.file_unavailable' });
    expect(warning!.msg).toMatch(/无法打开日志文件 .*not-a-folder.*(EEXIST|ENOTDIR)/);
    expect(program.stderr().trim().split('\n')).toHaveLength(1);
  });
});
