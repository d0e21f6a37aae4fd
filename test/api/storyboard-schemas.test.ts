// A shot without a name of its own is named after its storyboard and its place: "<name> #n".
import { describe, expect, it } from 'vitest';
import { defaultShotName } from '../../src/api/storyboard-schemas.js';

describe('defaultShotName', () => {
  it('is the storyboard name and the shot number', () => {
    expect(defaultShotName('Harbour at dawn', 3)).toBe('Harbour at dawn #3');
  });

  it('shortens a long name rather than losing the number, and stays within 500 code units', () => {
    const long = 'x'.repeat(500);
    const names = [1, 2, 120].map((n) => defaultShotName(long, n));
    expect(names[0]).toMatch(/^x+… #1$/);
    expect(names[2]).toMatch(/^x+… #120$/);
    for (const name of names) expect(name.length).toBe(500);
    expect(new Set(names).size).toBe(3);
  });

  it('never cuts a character in two', () => {
    // 495 code units of "a", then emoji (2 code units each): a cut at 496 would fall inside the first.
    const name = 'a'.repeat(495) + '🎬🎬🎬';
    const shot = defaultShotName(name, 7);
    expect(shot.endsWith('… #7')).toBe(true);
    expect(shot.length).toBeLessThanOrEqual(500);
    expect(shot).toBe(`${'a'.repeat(495)}… #7`);
  });
});
