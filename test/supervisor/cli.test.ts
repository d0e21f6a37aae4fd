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

  it('help and version end the reading where they stand, as their handlers exit', () => {
    expect(parseCommandLine(['-c', 'x', '-h'])).toEqual({ kind: 'help' });
    expect(parseCommandLine(['--version'])).toEqual({ kind: 'version' });
    expect(parseCommandLine(['--vers', '-c', 'a', '-c', 'b'])).toEqual({ kind: 'version' });
    expect(() => parseCommandLine(['-c', 'a', '-c', 'b', '-h'])).toThrow(new UsageError("conflicting command line option '-c'"));
  });

  it('takes clusters, prefixes and every [supervisord] override supervisord takes', () => {
    expect(parseCommandLine(['-nsk', '--config=a.conf', '-t', '-m', '027', '-y', '1KB', '--logfile_b=3', '-a', '10', '--minp', '20', '-q', '/tmp'])).toEqual({
      kind: 'run',
      configFile: 'a.conf',
      nodaemon: true,
      silent: true,
      overrides: { nocleanup: true, stripAnsi: true, umask: 0o27, logfileMaxBytes: 1024, logfileBackups: 3, minfds: 10, minprocs: 20, childlogdir: '/tmp' },
    });
    expect(parseCommandLine(['-uroot', '-d', '/'])).toMatchObject({ overrides: { user: 'root', directory: '/' } });
  });

  it("rejects what supervisord rejects, in supervisord's words", () => {
    expect(() => parseCommandLine(['--bogus'])).toThrow(new UsageError('option --bogus not recognized'));
    expect(() => parseCommandLine(['-c'])).toThrow(new UsageError('option -c requires argument'));
    expect(() => parseCommandLine(['a', 'b'])).toThrow(new UsageError("positional arguments are not supported: ['a', 'b']"));
    // Checked before any option is looked at, so -h does not win over it.
    expect(() => parseCommandLine(['-h', '--', '-n'])).toThrow(new UsageError("positional arguments are not supported: ['-n']"));
    expect(() => parseCommandLine(['-n', '--nodaemon'])).toThrow(new UsageError("conflicting command line option '--nodaemon'"));
    expect(() => parseCommandLine(['--profile_options=cumulative'])).toThrow(UsageError);
  });
});
