// The host allow-list of `upload:https://…` (UPLOAD_URL_ALLOWED_HOSTS): pure parsing and matching.
import { describe, expect, it } from 'vitest';
import { AllowedHosts } from '../../src/store/index.js';

describe('AllowedHosts', () => {
  it('allows exact names and names below a *.suffix, without case or final dot, and nothing else', () => {
    const hosts = AllowedHosts.parse(' Images.Example.com ,*.cdn.example.net,, 203.0.113.7,[2001:db8::1]');
    expect(hosts.empty).toBe(false);
    for (const allowed of ['images.example.com', 'IMAGES.example.com.', 'a.cdn.example.net', 'a.b.cdn.example.net', '203.0.113.7', '[2001:db8::1]']) {
      expect(hosts.allows(allowed), allowed).toBe(true);
    }
    // The suffix itself, a look-alike ending, a sibling, other addresses: refused.
    for (const refused of ['cdn.example.net', 'evilcdn.example.net', 'example.com', 'images.example.com.evil.test', '127.0.0.1', '169.254.169.254', 'localhost', '[::1]']) {
      expect(hosts.allows(refused), refused).toBe(false);
    }
  });

  it('is empty (allows nothing) for an empty or blank value', () => {
    for (const text of ['', ' ', ',,']) {
      const hosts = AllowedHosts.parse(text);
      expect(hosts.empty).toBe(true);
      expect(hosts.allows('images.example.com')).toBe(false);
    }
  });

  it.each(['*', '*.', 'https://images.example.com', 'images.example.com:443', 'images.example.com/a', 'bad_name.example', '*example.com', 'a.*.example.com'])(
    'refuses the entry %s, naming it',
    (entry) => {
      expect(() => AllowedHosts.parse(`ok.example.com,${entry}`)).toThrow(`${JSON.stringify(entry)} is not a host name or *.suffix`);
    },
  );
});
