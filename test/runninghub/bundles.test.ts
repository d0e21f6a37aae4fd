// The simulator is not part of the production programs: dist/api.js and dist/task-processor.js (built
// by the test run's global setup) carry none of its code, while dist/runninghub-simulator.js does.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { distProgram } from '../support/programs.js';

// Text found only in the simulator's sources: its control routes and its options schema.
const SIMULATOR_MARKERS = ['/__sim/', 'range must be [min, max] with min <= max'];

it('the simulator bundle has the markers (so their absence elsewhere means something)', () => {
  const simulator = readFileSync(distProgram('runninghub-simulator'), 'utf8');
  for (const marker of SIMULATOR_MARKERS) expect(simulator).toContain(marker);
});

it.each(['api', 'task-processor'] as const)('dist/%s.js contains no simulator code', (program) => {
  const bundle = readFileSync(distProgram(program), 'utf8');
  for (const marker of SIMULATOR_MARKERS) expect(bundle).not.toContain(marker);
});
