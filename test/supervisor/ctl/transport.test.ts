// The Host header supervisorctl sends, as Python's http.client writes it for the same serverurl.
import { describe, expect, it } from 'vitest';
import { hostHeader, parseServerUrl } from '../../../src/supervisor/ctl/transport.js';

describe('hostHeader', () => {
  it('is "localhost" for a Unix socket, host:port otherwise, IPv6 in brackets, and no port for 80', () => {
    expect(hostHeader(parseServerUrl('unix:///var/run/supervisor.sock'))).toBe('localhost');
    expect(hostHeader(parseServerUrl('http://127.0.0.1:9001'))).toBe('127.0.0.1:9001');
    expect(hostHeader(parseServerUrl('http://[::1]:9001'))).toBe('[::1]:9001');
    expect(hostHeader(parseServerUrl('http://localhost'))).toBe('localhost');
    expect(hostHeader(parseServerUrl('http://127.0.0.1:80'))).toBe('127.0.0.1');
    expect(hostHeader(parseServerUrl('http://[::1]'))).toBe('[::1]');
  });
});
