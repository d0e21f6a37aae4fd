// supervisord's full collection after every OUTPUT_BYTES_PER_COLLECTION bytes of program output read
// (src/supervisor/output-garbage.ts): V8's gc() is obtained at run time and called past the threshold.
import { describe, expect, it } from 'vitest';
import { OUTPUT_BYTES_PER_COLLECTION, outputCollections, outputRead } from '../../src/supervisor/output-garbage.js';
import { waitFor } from '../support/wait.js';

describe('output garbage', () => {
  it('runs a full collection once the output read passes the threshold, not before', async () => {
    const start = outputCollections.runs;
    outputRead(OUTPUT_BYTES_PER_COLLECTION - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outputCollections.runs).toBe(start);
    outputRead(1);
    const runs = await waitFor('a full collection', () => (outputCollections.runs > start ? outputCollections.runs : false));
    expect(runs).toBe(start + 1);
    // The count starts over: the next collection only after as many bytes again.
    outputRead(OUTPUT_BYTES_PER_COLLECTION - 1);
    await new Promise((resolve) => setImmediate(resolve));
    expect(outputCollections.runs).toBe(start + 1);
  });
});
