// supervisord's command line, parsed (pure logic; the real-process behaviour is in supervisord-main.test.ts).
import { describe, expect, it } from 'vitest';
import { parseCommandLine, UsageError } from '../../src/supervisor/cli.js';

describe('parseCommandLine', () => {
  it('reads -c in every getopt spelling, -n, -s and the overrides', () => {
    for (const args of [['-c', 'a.conf'], ['-ca.conf'], ['--configuration=a.conf'], ['--configuration', 'a.conf']]) {
      expect(parseCommandLine(args)).toMatchObject({ kind: 'run', configFile: 'a.conf', nodaemon: false });
    }
    expect(parseCommandLine(['-n', '-s', '-e', 'debug', '-j', 'x.pid', '--logfile=x.log', '-i', 'id'])).toEqual({
      kind: 'run',
      configFile: null,
      nodaemon: true,
      silent: true,
      overrides: { loglevel: 'debug', pidfile: 'x.pid', logfile: 'x.log', identifier: 'id' },
    });
  });

  it('help and version win', () => {
    expect(parseCommandLine(['-c', 'x', '-h'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
  });

  it("rejects what supervisord rejects, in supervisord's words", () => {
    expect(() => parseCommandLine(['--bogus'])).toThrow(new UsageError('option --bogus not recognized'));
    expect(() => parseCommandLine(['-c'])).toThrow(new UsageError('option -c requires argument'));
    expect(() => parseCommandLine(['a', 'b'])).toThrow(new UsageError("positional arguments are not supported: ['a', 'b']"));
  });
});
