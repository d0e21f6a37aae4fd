// The output store on a real file system: writing a file in one pass (SHA-256 and size as the bytes go
// by, nothing left behind on failure), and the removal of pruned tasks' outputs (retention's hook).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { commitFile, createDir, FileTooLargeError, outputFilePath, removeTaskOutputs, syncDir, writeToTemporary } from '../../src/store/index.js';

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

describe('writeToTemporary and commitFile', () => {
  const chunks = [Buffer.from([0x89, 0x50, 0x4e, 0x47]), randomBytes(3 * 1024 * 1024), randomBytes(70_001)];
  const whole = Buffer.concat(chunks);

  it('writes every byte once, with the SHA-256, size and head counted in the same pass, and commits it under its name', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'store-'));
    const written = await writeToTemporary(Readable.from(chunks), path.join(dir, 'task', 'new'));
    expect(written).toMatchObject({ size: whole.length, sha256: createHash('sha256').update(whole).digest('hex') });
    expect(Buffer.from(written.head)).toEqual(whole.subarray(0, 16));
    const finalPath = path.join(dir, 'task', 'new', '0');
    await commitFile(written.temporaryPath, finalPath);
    expect(readFileSync(finalPath).equals(whole)).toBe(true);
    expect(readdirSync(path.dirname(finalPath))).toEqual(['0']);
  });

  it('leaves nothing behind when the source breaks off or is larger than allowed', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'store-'));
    // The first read gives 3 MiB, the second breaks off (as a dropped connection would).
    let reads = 0;
    const broken = new Readable({
      read() {
        if (reads++ === 0) this.push(chunks[1]);
        else this.destroy(new Error('connection reset'));
      },
    });
    await expect(writeToTemporary(broken, dir)).rejects.toThrow(/connection reset/);
    await expect(writeToTemporary(Readable.from(chunks), dir, { maxBytes: 1024 * 1024 })).rejects.toBeInstanceOf(FileTooLargeError);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('createDir', () => {
  it('resolves once the folders exist, their fsync in the parent apart (durable), and fails on a file in the way', async () => {
    const root = mkdtempSync(path.join(tmpdir(), 'store-'));
    const dir = path.join(root, 'a', 'b');
    const { durable } = await createDir(dir);
    expect(existsSync(dir)).toBe(true);
    await expect(durable).resolves.toBeUndefined();
    // Already there: nothing to make durable.
    await expect((await createDir(dir)).durable).resolves.toBeUndefined();
    writeFileSync(path.join(root, 'file'), 'x');
    await expect(createDir(path.join(root, 'file', 'c'))).rejects.toThrow(/ENOTDIR|EEXIST/);
  });
});

describe('syncDir', () => {
  it('answers every caller of a burst on one folder (grouped fsyncs), and names a folder that is not there', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'store-'));
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => syncDir(dir)));
    expect(results.map((r) => r.status)).toEqual(Array.from({ length: 20 }, () => 'fulfilled'));
    // A later call after the burst starts a fresh fsync and is answered too.
    await expect(syncDir(dir)).resolves.toBeUndefined();
    await expect(syncDir(path.join(dir, 'missing'))).rejects.toThrow(/ENOENT.*missing/);
  });
});
