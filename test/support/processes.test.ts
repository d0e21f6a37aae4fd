// pidFromFile, which tests poll while a shell writes `echo $! > file`: a CI run once read the file empty, as 0.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { pidFromFile } from './processes.js';

it('pidFromFile gives a pid only once the file holds a whole line with a positive number', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pid-file-'));
  try {
    const file = path.join(dir, 'x.pid');
    expect(pidFromFile(file)).toBeUndefined();
    for (const partial of ['', '123', '0\n', 'abc\n', '-5\n']) {
      writeFileSync(file, partial);
      expect(pidFromFile(file), JSON.stringify(partial)).toBeUndefined();
    }
    writeFileSync(file, '12345\n');
    expect(pidFromFile(file)).toBe(12345);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
