import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadApiConfig } from '../../src/api/index.js';
import { AllowedHosts } from '../../src/store/index.js';

describe('API configuration', () => {
  it('has defaults for everything but the optional variables', () => {
    expect(loadApiConfig({})).toEqual({
      databaseUrl: undefined,
      embeddedPostgresDir: undefined,
      embeddedPostgresPort: undefined,
      port: 8000,
      host: '0.0.0.0',
      logLevel: 'info',
      apiToken: undefined,
      apiReadToken: undefined,
      runningHubWebhookSecret: undefined,
      bodyLimitBytes: 1024 * 1024,
      databasePoolSize: 20,
      databaseConnectTimeoutMs: 2000,
      databaseStatementTimeoutMs: 10_000,
      shutdownTimeoutMs: 10_000,
      sseHeartbeatMs: 15_000,
      storyboardMaxShots: 1000,
      storyboardBodyLimitBytes: 8 * 1024 * 1024,
      profiles: [],
      outputDir: path.resolve('.data/outputs'),
      uploadDir: path.resolve('.data/uploads'),
      uploadMaxBytes: 10 * 1024 * 1024,
      // No host: `upload:https://…` is refused until an operator names the hosts.
      uploadUrlAllowedHosts: AllowedHosts.parse(''),
    });
    expect(loadApiConfig({}).uploadUrlAllowedHosts.empty).toBe(true);
    const hosts = loadApiConfig({ UPLOAD_URL_ALLOWED_HOSTS: 'images.example.com, *.cdn.example.net' }).uploadUrlAllowedHosts;
    expect([hosts.allows('images.example.com'), hosts.allows('a.cdn.example.net'), hosts.allows('example.com')]).toEqual([true, true, false]);
    expect(loadApiConfig({ OUTPUT_DIR: '/var/outputs', UPLOAD_DIR: '/var/uploads', UPLOAD_MAX_BYTES: '2MB' })).toMatchObject({
      outputDir: '/var/outputs',
      uploadDir: '/var/uploads',
      uploadMaxBytes: 2 * 1024 * 1024,
    });
  });

  it('parses every variable into its type', () => {
    const config = loadApiConfig({
      DATABASE_URL: 'postgresql://u:p@db:5432/app',
      PORT: '9000',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'debug',
      API_TOKEN: 'a-long-enough-token',
      BODY_LIMIT_BYTES: '65536',
      DATABASE_POOL_SIZE: '5',
      DATABASE_CONNECT_TIMEOUT: '500ms',
      DATABASE_STATEMENT_TIMEOUT: '3s',
      SHUTDOWN_TIMEOUT: '1m',
      SSE_HEARTBEAT_INTERVAL: '20s',
    });
    expect(config).toMatchObject({
      databaseUrl: 'postgresql://u:p@db:5432/app',
      port: 9000,
      host: '127.0.0.1',
      logLevel: 'debug',
      apiToken: 'a-long-enough-token',
      bodyLimitBytes: 65536,
      databasePoolSize: 5,
      databaseConnectTimeoutMs: 500,
      databaseStatementTimeoutMs: 3000,
      shutdownTimeoutMs: 60_000,
      sseHeartbeatMs: 20_000,
    });
  });

  it("takes supervisord's console URL for the dashboard's link, absent by default", () => {
    expect(loadApiConfig({ SUPERVISOR_CONSOLE_URL: 'https://ops.example.com/supervisor/' }).supervisorConsoleUrl).toBe('https://ops.example.com/supervisor/');
    expect(loadApiConfig({}).supervisorConsoleUrl).toBeUndefined();
  });

  it('treats an empty variable as unset', () => {
    expect(loadApiConfig({ API_TOKEN: '', PORT: '' })).toMatchObject({ apiToken: undefined, port: 8000 });
  });

  it.each([
    [{ PORT: '70000' }, /PORT/],
    [{ PORT: 'http' }, /PORT: .*\(got "http"\)/],
    [{ DATABASE_URL: 'mysql://x' }, /DATABASE_URL: expected a postgres/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
    [{ API_TOKEN: 'short' }, /API_TOKEN: must be at least 16 characters/],
    [{ DATABASE_CONNECT_TIMEOUT: 'soon' }, /DATABASE_CONNECT_TIMEOUT: expected a duration/],
    [{ SUPERVISOR_CONSOLE_URL: 'javascript:alert(1)' }, /SUPERVISOR_CONSOLE_URL: must be an http/],
    [{ SUPERVISOR_CONSOLE_URL: 'http://admin:secret@host:9001/' }, /SUPERVISOR_CONSOLE_URL: must not carry a user name or password/],
    [{ UPLOAD_URL_ALLOWED_HOSTS: 'images.example.com,https://evil.example/' }, /UPLOAD_URL_ALLOWED_HOSTS: "https:\/\/evil.example\/" is not a host name/],
    [{ UPLOAD_URL_ALLOWED_HOSTS: '*' }, /UPLOAD_URL_ALLOWED_HOSTS: "\*" is not a host name or \*\.suffix/],
  ])('names the variable that is wrong: %o', (env, message) => {
    expect(() => loadApiConfig(env)).toThrow(message);
  });
});
