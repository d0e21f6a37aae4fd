// Which input a shot card shows as its prompt (the dashboard's storyboard page).
import { describe, expect, it } from 'vitest';
import { promptOf } from '../../../../src/api/dashboard/client/prompt.js';

const shot = (...values: string[]) => ({ nodeInfoList: values.map((fieldValue, i) => ({ nodeId: String(i), fieldName: 'f', fieldValue })) });

describe('promptOf', () => {
  it('takes the longest text input, whatever its field is called', () => {
    expect(promptOf(shot('cinematic', 'a lighthouse at dawn, fog rolling in', 'dawn'))).toBe('a lighthouse at dawn, fog rolling in');
  });

  it('passes over seeds and other numbers, references and file names', () => {
    const references = ['123456789012345', '0.75', 'upload:9b2d6a4e-8f0c-4c5e-9a57-2b1f0c3d4e5f', 'https://example.com/some/long/reference/image.png', 'api/abc.png', 'keeper.webp'];
    expect(promptOf(shot(...references, 'stairs'))).toBe('stairs');
    expect(promptOf(shot(...references))).toBeNull();
    expect(promptOf(shot())).toBeNull();
    expect(promptOf(shot('   '))).toBeNull();
  });
});
