import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  expandUser,
  parseAutorestart,
  parseBoolean,
  parseByteSize,
  parseEnvironmentValue,
  parseExistingDirectory,
  parseExistingDirpath,
  parseExitCodes,
  parseInetAddress,
  parseLogLevel,
  parseOctal,
  parseProcessOrGroupName,
  parseSignalName,
  parseStringList,
  resolveGroup,
  resolveUser,
} from '../../../src/supervisor/config/datatypes.js';

// Expected values and messages produced by supervisor 4.2.5's datatypes.py on this machine.

describe('parseBoolean', () => {
  it.each(['true', 'YES', 'On', '1'])('%s is true', (t) => expect(parseBoolean(t)).toBe(true));
  it.each(['false', 'No', 'OFF', '0'])('%s is false', (t) => expect(parseBoolean(t)).toBe(false));
  it.each([
    ['maybe', "not a valid boolean value: 'maybe'"],
    ['', "not a valid boolean value: ''"],
    [' true', "not a valid boolean value: ' true'"],
  ])('%j is rejected', (t, message) => expect(() => parseBoolean(t)).toThrow(message));
});

describe('parseByteSize', () => {
  it.each([
    ['1024', 1024],
    ['50MB', 52428800],
    ['10 kb', 10240],
    ['1GB', 1073741824],
    [' 5 ', 5],
    ['0', 0],
  ])('%j → %d', (t, n) => expect(parseByteSize(t)).toBe(n));
  it.each([
    ['1.5MB', "invalid literal for int() with base 10: '1.5'"],
    ['50XB', "invalid literal for int() with base 10: '50xb'"],
    ['mb', "invalid literal for int() with base 10: ''"],
  ])('%j is rejected', (t, message) => expect(() => parseByteSize(t)).toThrow(message));
});

describe('parseSignalName', () => {
  it.each([
    ['TERM', 'TERM'],
    ['sigint', 'INT'],
    [' hup ', 'HUP'],
    ['9', 'KILL'],
    ['15', 'TERM'],
    ['SIGKILL ', 'KILL'],
    ['6', 'ABRT'],
    ['usr2', 'USR2'],
  ])('%j → %s', (t, name) => expect(parseSignalName(t)).toBe(name));
  it.each([
    ['FOO', "value 'FOO' is not a valid signal name"],
    ['-1', "value '-1' is not a valid signal number"],
    ['99', "value '99' is not a valid signal number"],
  ])('%j is rejected', (t, message) => expect(() => parseSignalName(t)).toThrow(message));
});

describe('parseOctal', () => {
  it.each([
    ['022', 0o22],
    ['0o22', 0o22],
    ['7', 7],
    ['-7', -7],
  ])('%j → %d', (t, n) => expect(parseOctal(t)).toBe(n));
  it.each([
    ['9', '9 can not be converted to an octal type'],
    ['', ' can not be converted to an octal type'],
  ])('%j is rejected', (t, message) => expect(() => parseOctal(t)).toThrow(message));
});

describe('parseExitCodes', () => {
  it.each([
    ['0', [0]],
    ['0,2', [0, 2]],
    [' 1 , 2', [1, 2]],
    ['', []],
  ])('%j → %j', (t, codes) => expect(parseExitCodes(t)).toEqual(codes));
  it.each(['0,256', '-1', 'a', '0,'])('%j is rejected', (t) =>
    expect(() => parseExitCodes(t)).toThrow(`not a valid list of exit codes: '${t}'`),
  );
});

describe('parseAutorestart', () => {
  it.each([
    ['true', 'true'],
    ['YES', 'true'],
    ['false', 'false'],
    ['0', 'false'],
    ['Unexpected', 'unexpected'],
  ])('%j → %s', (t, mode) => expect(parseAutorestart(t)).toBe(mode));
  it('rejects anything else, quoting the lower-cased value', () => {
    expect(() => parseAutorestart('Sometimes')).toThrow("invalid 'autorestart' value 'sometimes'");
  });
});

describe('parseEnvironmentValue', () => {
  it.each([
    [`KEY=val,KEY2="v, w",K3='x'`, { KEY: 'val', KEY2: 'v, w', K3: 'x' }],
    ['A=hello world', { A: 'hello' }],
    ['A=""', { A: '' }],
    ['PATH=/usr/bin:/bin,H=a.b+c-(d)', { PATH: '/usr/bin:/bin', H: 'a.b+c-(d)' }],
    [`A='a "q" b'`, { A: 'a "q" b' }],
    ['', {}],
  ])('%j → %j', (t, env) => expect(parseEnvironmentValue(t)).toEqual(env));
  it.each(['A=a@b', 'A=x=y', 'A=', 'A=1,,B=2', 'A=1 B=2', 'A=1,B', 'A=x#y\nB=2'])('%j is rejected', (t) =>
    expect(() => parseEnvironmentValue(t)).toThrow(`Unexpected end of key/value pairs in value '${t}'`),
  );
  it('passes on shlex\'s quote error', () => {
    expect(() => parseEnvironmentValue('A="x')).toThrow('No closing quotation');
  });
});

describe('names, lists, levels, addresses', () => {
  it('accepts names without space, colon or slash, trimmed', () => {
    expect(parseProcessOrGroupName(' api ')).toBe('api');
    expect(() => parseProcessOrGroupName('a b')).toThrow("Invalid name: 'a b' because of character: ' '");
    expect(() => parseProcessOrGroupName('a:b')).toThrow("Invalid name: 'a:b' because of character: ':'");
    expect(() => parseProcessOrGroupName('a/b')).toThrow("Invalid name: 'a/b' because of character: '/'");
  });

  it('splits comma lists', () => {
    expect(parseStringList('a, b ,c')).toEqual(['a', 'b', 'c']);
    expect(parseStringList('')).toEqual([]);
    expect(parseStringList(null)).toEqual([]);
  });

  it('knows supervisord\'s level names', () => {
    expect(parseLogLevel('DEBUG')).toBe('debug');
    expect(parseLogLevel('blather')).toBe('blather');
    expect(() => parseLogLevel('loud')).toThrow("bad logging level name 'loud'");
  });

  it.each([
    ['9001', { host: '', port: 9001 }],
    ['*:9001', { host: '', port: 9001 }],
    [':9001', { host: '', port: 9001 }],
    ['LocalHost:9001', { host: 'localhost', port: 9001 }],
  ])('inet address %j', (t, address) => expect(parseInetAddress(t)).toEqual(address));
  it.each([
    ['abc', "not a valid port number: 'abc' "],
    ['70000', "not a valid port number: '70000' "],
    ['x:', "no port number specified in ''"],
    ['x:abc', "invalid literal for int() with base 10: 'abc'"],
    ['127.0.0.1:0', '0 is below lower bound (1)'],
    ['h:70000', '70000 is above upper bound (65535)'],
  ])('inet address %j is rejected', (t, message) => expect(() => parseInetAddress(t)).toThrow(message));
});

describe('users, groups and paths', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'config-datatypes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const passwd = path.join(dir, 'passwd');
  const group = path.join(dir, 'group');
  writeFileSync(passwd, 'root:x:0:0:root:/root:/bin/bash\napp:x:1000:1001:App:/home/app:/bin/sh\n');
  writeFileSync(group, 'root:x:0:\napp:x:1001:\n');

  it('resolves users by name or uid from the passwd file', () => {
    expect(resolveUser('app', passwd)).toEqual({ name: 'app', uid: 1000, gid: 1001 });
    expect(resolveUser('0', passwd)).toEqual({ name: 'root', uid: 0, gid: 0 });
    expect(() => resolveUser('nosuchuser', passwd)).toThrow('Invalid user name nosuchuser');
    expect(() => resolveUser('4242', passwd)).toThrow('Invalid user id 4242');
  });

  it('resolves groups by name or gid', () => {
    expect(resolveGroup('app', group)).toEqual({ name: 'app', gid: 1001 });
    expect(() => resolveGroup('nosuch', group)).toThrow('Invalid group name nosuch');
    expect(() => resolveGroup('4242', group)).toThrow('Invalid group id 4242');
  });

  it('expands ~ like os.path.expanduser', () => {
    expect(expandUser('~/x', { HOME: '/home/me' })).toBe('/home/me/x');
    expect(expandUser('~', { HOME: '/home/me/' })).toBe('/home/me');
    expect(expandUser('~root/x', {})).toBe('/root/x');
    expect(expandUser('~nosuchuser/x', {})).toBe('~nosuchuser/x');
    expect(expandUser('/a/~', {})).toBe('/a/~');
  });

  it('checks that a log path\'s directory exists', () => {
    expect(parseExistingDirpath(path.join(dir, 'x.log'), {})).toBe(path.join(dir, 'x.log'));
    expect(parseExistingDirpath('bare.log', {})).toBe('bare.log');
    expect(() => parseExistingDirpath('/nonexistent/x.log', {})).toThrow(
      'The directory named as part of the path /nonexistent/x.log does not exist',
    );
  });

  it('checks that a directory exists', () => {
    expect(parseExistingDirectory(dir, {})).toBe(dir);
    expect(() => parseExistingDirectory('/nonexistent', {})).toThrow('/nonexistent is not an existing directory');
    expect(() => parseExistingDirectory(passwd, {})).toThrow(`${passwd} is not an existing directory`);
  });
});
