// The output store's removal of pruned tasks' outputs (retention's hook), on a real file system.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { outputFilePath, removeTaskOutputs } from '../../src/store/index.js';

describe('removeTaskOutputs', () => {
  const pruned = '0b8f3c1e-8d4a-4c55-9a43-2f1d3c6b7e10';
  const kept = '6f1e2d3c-4b5a-4978-8d6e-5f4a3b2c1d0e';

  it('removes the folders of the given tasks only, and takes a task without outputs in its stride', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'outputs-'));
    for (const id of [pruned, kept]) {
      mkdirSync(path.dirname(outputFilePath(dir, id, 0)), { recursive: true });
      writeFileSync(outputFilePath(dir, id, 0), 'png');
      writeFileSync(outputFilePath(dir, id, 1), 'png');
    }
    await removeTaskOutputs(dir, [pruned, '11111111-2222-4333-8444-555555555555']);
    expect(existsSync(path.join(dir, pruned))).toBe(false);
    expect(existsSync(outputFilePath(dir, kept, 1))).toBe(true);
  });

  it('refuses anything that is not a task id instead of deleting a path', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'outputs-'));
    writeFileSync(path.join(dir, 'keep-me'), 'x');
    await expect(removeTaskOutputs(dir, ['..'])).rejects.toThrow(/not a task id/);
    expect(existsSync(path.join(dir, 'keep-me'))).toBe(true);
  });
});
