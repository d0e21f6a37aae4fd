import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadProcessorConfig } from '../../src/processor/index.js';
import { loadProfiles, parseProfiles, profileForTarget } from '../../src/shared/profiles.js';

const lumina = { maxRunning: 2, timeout: '5m', maxAttempts: 60, backoff: '5s', pollInterval: 5000, workflowIds: ['1904136902449209346'] };

describe('profiles', () => {
  it('parses durations and defaults, from PROFILES or PROFILES_FILE', () => {
    const inline = loadProfiles({ PROFILES: JSON.stringify({ profiles: { lumina } }) });
    expect(inline).toEqual([
      { name: 'lumina', maxRunning: 2, timeout: 300_000, maxAttempts: 60, backoff: 5000, pollInterval: 5000, workflowIds: ['1904136902449209346'], webappIds: [] },
    ]);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'profiles-'));
    const file = path.join(dir, 'profiles.json');
    writeFileSync(file, JSON.stringify({ profiles: { lumina } }));
    expect(loadProfiles({ PROFILES_FILE: file })).toEqual(inline);
    expect(loadProfiles({})).toEqual([]);
    expect(profileForTarget(inline, { workflowId: '1904136902449209346', webappId: null })?.name).toBe('lumina');
    expect(profileForTarget(inline, { workflowId: null, webappId: '1' })).toBeUndefined();
  });

  it('names the key of every mistake', () => {
    expect(() => parseProfiles({ profiles: { lumina: { ...lumina, maxRunning: 0 } } }, 'PROFILES')).toThrow(
      /invalid profiles in PROFILES: profiles\.lumina\.maxRunning: /,
    );
    expect(() => parseProfiles({ profiles: { lumina: { ...lumina, timeout: 'soon' } } }, 'PROFILES')).toThrow(/profiles\.lumina\.timeout: /);
    expect(() => parseProfiles({ profiles: { lumina: { ...lumina, colour: 'red' } } }, 'PROFILES')).toThrow(/profiles\.lumina: .*colour/);
    expect(() => parseProfiles({ profiles: { 'bad name': lumina } }, 'PROFILES')).toThrow(/a profile name is letters/);
    expect(() => parseProfiles({ profiles: { a: lumina, b: lumina } }, 'PROFILES')).toThrow(
      /profiles\.b\.workflowIds: 1904136902449209346 is already in profile a/,
    );
    expect(() => loadProfiles({ PROFILES: '{' })).toThrow(/^PROFILES: not JSON/);
    expect(() => loadProfiles({ PROFILES_FILE: '/nonexistent/profiles.json' })).toThrow(/PROFILES_FILE \(\/nonexistent\/profiles.json\): cannot read the file/);
    expect(() => loadProfiles({ PROFILES: '{}', PROFILES_FILE: 'x' })).toThrow(/not both/);
  });

  it('is refused by the processor when a profile allows more than the account', () => {
    const env = { DATABASE_URL: 'postgresql://u@h/db', RUNNINGHUB_API_KEY: 'k'.repeat(32), RUNNINGHUB_MAX_RUNNING: '3' };
    expect(loadProcessorConfig({ ...env, PROFILES: JSON.stringify({ profiles: { lumina } }) }).settings.profiles).toHaveLength(1);
    expect(() => loadProcessorConfig({ ...env, PROFILES: JSON.stringify({ profiles: { lumina: { ...lumina, maxRunning: 4 } } }) })).toThrow(
      /profiles\.lumina\.maxRunning: 4 is more than the account's limit RUNNINGHUB_MAX_RUNNING=3/,
    );
  });
});
