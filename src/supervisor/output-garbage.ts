// Program output passes through supervisord as one Buffer per read of a child's pipe (up to 64 KiB),
// kept for a few milliseconds (the log file's queue, a listener pool's events) and then garbage. At a
// fast writer's pace (100+ MB/s through a log forwarder) many of them outlive a young-generation
// collection and then wait for a full one, which V8 starts only when such external memory has grown
// by tens of MiB: supervisord's resident memory would grow by that much. A full collection every
// OUTPUT_BYTES_PER_COLLECTION read bytes frees them; it costs a few milliseconds on supervisord's
// small heap, once per that many bytes, and nothing while programs write little.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Read bytes between two full collections. */
export const OUTPUT_BYTES_PER_COLLECTION = 8 * 1024 * 1024;

function collector(): (() => void) | null {
  try {
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  }
}

let collect: (() => void) | null | undefined;
let sinceCollection = 0;

/** Full collections run so far (tests). */
export const outputCollections = { runs: 0 };

/** Counts output read; past the threshold, a full collection (once the current read is handled). */
export function outputRead(bytes: number): void {
  sinceCollection += bytes;
  if (sinceCollection < OUTPUT_BYTES_PER_COLLECTION) return;
  sinceCollection = 0;
  collect ??= collector();
  const run = collect;
  if (run === null) return;
  setImmediate(() => {
    run();
    outputCollections.runs += 1;
  });
}
