// supervisord's readFile/tailFile semantics over real log files (supervisor/options.py).
import { open, stat } from 'node:fs/promises';
import { FaultCode, SupervisorFault } from '../types.js';

/** One read is capped so a client asking for a whole huge log cannot exhaust memory. */
const MAX_READ_BYTES = 16 * 1024 * 1024;

async function readRange(path: string, position: number, length: number): Promise<Buffer> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const start = Math.min(Math.max(0, position), size);
    const count = Math.min(length, size - start, MAX_READ_BYTES);
    if (count <= 0) return Buffer.alloc(0);
    const buffer = Buffer.alloc(count);
    const { bytesRead } = await handle.read(buffer, 0, count, start);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

export async function fileExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `offset < 0, length == 0`: the last -offset bytes. `offset >= 0`: `length` bytes from offset
 * (0 = to the end). Anything else is BAD_ARGUMENTS; an I/O error is FAILED.
 */
export async function readLogRange(path: string, offset: number, length: number): Promise<string> {
  if (offset < 0) {
    if (length !== 0) throw new SupervisorFault(FaultCode.BAD_ARGUMENTS);
  } else if (length < 0) {
    throw new SupervisorFault(FaultCode.BAD_ARGUMENTS);
  }
  try {
    if (offset < 0) {
      const size = (await stat(path)).size;
      return (await readRange(path, size + offset, -offset)).toString('utf8');
    }
    return (await readRange(path, offset, length === 0 ? Number.MAX_SAFE_INTEGER : length)).toString('utf8');
  } catch {
    throw new SupervisorFault(FaultCode.FAILED);
  }
}

/**
 * tailProcessStdoutLog: up to `length` bytes ending at the file's end when the file grew past
 * offset+length (overflow), else from offset. Returns [text, new offset = size, overflow].
 */
export async function tailLogRange(path: string, offset: number, length: number): Promise<[string, number, boolean]> {
  try {
    const size = (await stat(path)).size;
    let start = offset;
    let count = length;
    let overflow = false;
    if (size > start + count) {
      overflow = true;
      start = size - 1;
    }
    if (start + count > size) {
      if (start > size - 1) count = 0;
      start = size - count;
    }
    if (start < 0) start = 0;
    if (count < 0) count = 0;
    const data = count === 0 ? '' : (await readRange(path, start, count)).toString('utf8');
    return [data, size, overflow];
  } catch {
    return ['', offset, false];
  }
}
