import { crc32, deflateSync } from 'node:zlib';

// Output files are real PNGs, generated in memory, so a client that downloads and checks its outputs
// works offline. Each task gets its own colour, which lets a test tell two tasks' files apart.

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const typeAndData = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData));
  return Buffer.concat([length, typeAndData, crc]);
}

/** A `size`×`size` RGB PNG filled with one colour. */
export function solidPng(size: number, rgb: readonly [number, number, number]): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 2; // colour type: truecolour
  // compression, filter and interlace methods stay 0
  const row = Buffer.alloc(1 + size * 3);
  for (let x = 0; x < size; x++) row.set(rgb, 1 + x * 3);
  const pixels = Buffer.concat(Array.from({ length: size }, () => row));
  return Buffer.concat([SIGNATURE, chunk('IHDR', header), chunk('IDAT', deflateSync(pixels)), chunk('IEND', Buffer.alloc(0))]);
}

/**
 * `solidPng(8, rgb)` padded to `totalBytes` with a private ancillary chunk (decoders skip it): the
 * head and tail per task, the padding chunk shared, so a 20 MB output costs 20 MB once, not per task.
 */
export function paddedPngParts(rgb: readonly [number, number, number], totalBytes: number, paddingCache: Map<number, Buffer>): Buffer[] {
  const small = solidPng(8, rgb);
  const iend = small.subarray(small.length - 12);
  const head = small.subarray(0, small.length - 12);
  const paddingData = totalBytes - small.length - 12;
  if (paddingData < 0) return [small];
  let padding = paddingCache.get(paddingData);
  if (!padding) {
    padding = chunk('prVt', Buffer.alloc(paddingData));
    paddingCache.clear();
    paddingCache.set(paddingData, padding);
  }
  return [head, padding, iend];
}

/** A stable colour for a seed string (a task id). */
export function colourFor(seed: string): [number, number, number] {
  const value = crc32(seed);
  return [value & 0xff, (value >>> 8) & 0xff, (value >>> 16) & 0xff];
}
