import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { envPostgresUrl, envSecret, parseEnv } from '../../src/shared/env.js';

const schema = z.object({
  PORT: z.coerce.number().int(),
  API_TOKEN: envSecret.optional(),
  RUNNINGHUB_API_KEY: z.string().regex(/^k-/),
  DATABASE_URL: envPostgresUrl().optional(),
});

const messageOf = (env: NodeJS.ProcessEnv): string => {
  try {
    parseEnv(schema, { RUNNINGHUB_API_KEY: 'k-ok', ...env });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('expected parseEnv to throw');
};

describe('parseEnv', () => {
  it('names the variable and quotes an ordinary wrong value', () => {
    expect(messageOf({ PORT: 'eighty' })).toMatch(/PORT: .*\(got "eighty"\)/);
  });

  it('never quotes the value of a key, token, secret or password', () => {
    const text = messageOf({ PORT: '1', API_TOKEN: 'short-token', RUNNINGHUB_API_KEY: 'the-real-key' });
    expect(text).toMatch(/API_TOKEN: must be at least 16 characters/);
    expect(text).toMatch(/RUNNINGHUB_API_KEY: /);
    expect(text).not.toContain('short-token');
    expect(text).not.toContain('the-real-key');
  });

  it('masks the password of a URL it quotes', () => {
    const text = messageOf({ PORT: '1', DATABASE_URL: 'mysql://app:hunter2@db:3306/x' });
    expect(text).toContain('(got "mysql://app:***@db:3306/x")');
    expect(text).not.toContain('hunter2');
  });

  it('treats an empty variable as unset', () => {
    expect(parseEnv(schema, { PORT: '1', RUNNINGHUB_API_KEY: 'k-ok', API_TOKEN: '' }).API_TOKEN).toBeUndefined();
  });
});
