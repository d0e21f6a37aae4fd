import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { catalogueMessage, LOG_MESSAGES } from '../../src/shared/messages.js';
import { ROOT } from '../support/programs.js';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? sourceFiles(full) : name.endsWith('.ts') ? [full] : [];
  });
}

/** Every `event: 'x.y'` key of a log call in src/ (lower-case dotted keys; RunningHub's `TASK_END` is a payload). */
function eventKeysInSource(): Map<string, string> {
  const keys = new Map<string, string>();
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\bevent:\s*['"`]([a-z][a-z0-9_]*(?:\.[a-z0-9_]+)+)['"`]/g)) {
      keys.set(match[1]!, path.relative(ROOT, file));
    }
  }
  return keys;
}

describe('the log message catalogue', () => {
  it('has a message for every event key logged in src/', () => {
    const keys = eventKeysInSource();
    expect(keys.size).toBeGreaterThan(20);
    const missing = [...keys].filter(([key]) => LOG_MESSAGES[key] === undefined).map(([key, file]) => `${key} (${file})`);
    expect(missing).toEqual([]);
  });

  it('answers the operations guide greps in Chinese', () => {
    const zh = (fields: Record<string, unknown>) => catalogueMessage(fields, 'zh') ?? '';
    expect(zh({ event: 'task.submitted', runninghubTaskId: '42' })).toContain('提交任务');
    expect(zh({ event: 'task.failed' })).toContain('失败');
    expect(zh({ event: 'processor.error', code: 'X' })).toContain('错误');
    expect(zh({ event: 'task.timed_out' })).toContain('超时');
    expect(zh({ event: 'task.retrying', reason: 'capacity' })).toContain('重试');
  });

  it('fills placeholders from the line and drops those the line does not have', () => {
    expect(catalogueMessage({ event: 'task.failed', code: 'TIMEOUT', err: 'no answer' }, 'en')).toBe('task failed TIMEOUT: no answer');
    expect(catalogueMessage({ event: 'task.failed' }, 'en')).toBe('task failed');
    expect(catalogueMessage({ event: 'task.retrying', reason: 'capacity' }, 'zh')).toBe('任务将重试（capacity）');
    expect(catalogueMessage({ event: 'unknown.event' }, 'zh')).toBeUndefined();
    expect(catalogueMessage({ msg: 'no event' }, 'zh')).toBeUndefined();
  });

  it('has both languages for every entry, and no English-only Chinese entry', () => {
    for (const [key, entry] of Object.entries(LOG_MESSAGES)) {
      expect(entry.en, key).not.toBe('');
      expect(entry.zh, key).toMatch(/[\u4e00-\u9fff]/);
    }
  });
});
