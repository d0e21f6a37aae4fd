// The one getopt of supervisord and supervisorctl, checked against Python's own getopt.getopt
// (python3 is a peer here: supervisord 4.2.5 calls exactly that function), and then both programs
// against Debian's real supervisord and supervisorctl 4.2.5 for the command-line mistakes.
import { execFileSync, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { getopt, UsageError } from '../../src/supervisor/getopt.js';
import { distProgram } from '../support/programs.js';

const SUPERVISORD_SHORT = 'h?c:vnu:m:d:l:y:z:e:j:i:q:a:kts';
const SUPERVISORD_LONG = [
  'help', 'configuration=', 'version', 'nodaemon', 'user=', 'umask=', 'directory=', 'logfile=', 'logfile_maxbytes=',
  'logfile_backups=', 'loglevel=', 'pidfile=', 'identifier=', 'childlogdir=', 'minfds=', 'minprocs=', 'nocleanup',
  'strip_ansi', 'profile_options=', 'silent',
];

type Outcome = { options: Array<[string, string]>; args: string[] } | { error: string };

/** Python's getopt.getopt on the same input. */
function pythonGetopt(cases: string[][], shortopts: string, longopts: string[]): Outcome[] {
  const script = `
import getopt, json, sys
cases, shortopts, longopts = json.loads(sys.stdin.read())
out = []
for args in cases:
    try:
        opts, rest = getopt.getopt(args, shortopts, longopts)
        out.append({"options": [list(o) for o in opts], "args": rest})
    except getopt.GetoptError as e:
        out.append({"error": str(e)})
print(json.dumps(out))
`;
  const stdout = execFileSync('python3', ['-c', script], { input: JSON.stringify([cases, shortopts, longopts]) });
  return JSON.parse(stdout.toString('utf8')) as Outcome[];
}

function ours(args: string[], shortopts: string, longopts: string[]): Outcome {
  try {
    return getopt(args, shortopts, longopts);
  } catch (error) {
    if (error instanceof UsageError) return { error: error.message };
    throw error;
  }
}

const CASES: string[][] = [
  [], ['-ns'], ['-nsk', '-c', 'f'], ['-cFILE'], ['-nc', 'FILE', 'rest'], ['-ncFILE'], ['--configuration=a=b'],
  ['--config=FILE'], ['--config', 'FILE'], ['--vers'], ['--c=x'], ['--l=x'], ['--logf=x'], ['--logfile=x'], ['--logfile_m', '5'],
  ['--min', '3'], ['--minp', '3'], ['--bogus'], ['-x'], ['-:'], ['-?'], ['-c'], ['--configuration'], ['--nodaemon=1'],
  ['--nodaemon='], ['--', '-n'], ['-n', '--', '--', 'x'], ['-', '-n'], ['x', '-n'], ['-n', 'x', '-s'], ['--=x'], ['--'],
  ['-c', '--', '-n'], ['-e', ''], ['--loglevel=', 'x'], ['--h'], ['--he'], ['---n'], ['-ñ'], ['-nñ'],
];

describe('getopt is Python getopt.getopt', () => {
  it("with supervisord's option table", () => {
    const expected = pythonGetopt(CASES, SUPERVISORD_SHORT, SUPERVISORD_LONG);
    CASES.forEach((args, i) => {
      expect({ args, outcome: ours(args, SUPERVISORD_SHORT, SUPERVISORD_LONG) }).toEqual({ args, outcome: expected[i] });
    });
  });

  it("with supervisorctl's option table (history_file and help share a prefix)", () => {
    const short = 'h?c:is:u:p:r:';
    const long = ['help', 'configuration=', 'interactive', 'serverurl=', 'username=', 'password=', 'history_file='];
    const cases = [['--h'], ['--hi=x'], ['--he'], ['-ih'], ['-is', 'unix:///x', 'status', '-c'], ['--user', 'u'], ['--s=x'], ['-rfile']];
    const expected = pythonGetopt(cases, short, long);
    cases.forEach((args, i) => {
      expect({ args, outcome: ours(args, short, long) }).toEqual({ args, outcome: expected[i] });
    });
  });
});

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], progname: string): Run {
  const result = spawnSync(command, args, { encoding: 'utf8', input: '', timeout: 30_000 });
  // Both print their own argv[0] in "For help, use … -h"; the rest must be identical.
  const normalise = (text: string): string => text.replaceAll(progname, 'PROG');
  return { status: result.status, stdout: normalise(result.stdout), stderr: normalise(result.stderr) };
}

const MISSING = '/nonexistent-storyboard/supervisord.conf';

describe('command-line mistakes, ours against Debian supervisord 4.2.5', () => {
  // Every case fails before supervisord would start (a real one started here would daemonize).
  it.each([
    [['--bogus']],
    [['--c=x']],
    [['--logf=x']],
    [['-c']],
    [['--configuration']],
    [['--nodaemon=1']],
    [['-n', '-n', '-c', MISSING]],
    [['-c', 'a', '-c', 'b', '-h']],
    [['-x']],
    [['-:']],
    [['-ns', '-c', MISSING]],
    [['--config=' + MISSING, '-ns']],
    [['-nscFILE', 'extra']],
    [['--', 'a']],
    [['-e', 'bogus']],
    [['--loglevel=warning']],
    [['-q', '/nonexistent-storyboard']],
    [['-j', '/nonexistent-storyboard/x.pid']],
    [['--minprocs=abc']],
    [['-y', '5XB']],
    [['-z', 'x']],
    [['-m', '999']],
    [['-h', '-x']],
    [['-e', 'bogus', '-e', 'info']],
  ])('supervisord %j', (args) => {
    const real = run('/usr/bin/supervisord', args, '/usr/bin/supervisord');
    const mine = run(process.execPath, [distProgram('supervisord'), ...args], distProgram('supervisord'));
    expect(real.status).toBe(2);
    expect(mine).toEqual(real);
  });

  it('`--vers` and `-v -h` print the version (ours names itself after it), exit 0', () => {
    for (const args of [['--vers'], ['-v', '-h'], ['--versio']]) {
      const real = run('/usr/bin/supervisord', args, '/usr/bin/supervisord');
      const mine = run(process.execPath, [distProgram('supervisord'), ...args], distProgram('supervisord'));
      expect([real.status, real.stdout]).toEqual([0, '4.2.5\n']);
      expect(mine.status).toBe(0);
      expect(mine.stdout).toMatch(/^4\.2\.5-compatible /);
    }
  });

  it('`--he` is --help, before a later conflict', () => {
    const real = run('/usr/bin/supervisord', ['--he', '-c', 'a', '-c', 'b'], '/usr/bin/supervisord');
    const mine = run(process.execPath, [distProgram('supervisord'), '--he', '-c', 'a', '-c', 'b'], distProgram('supervisord'));
    expect([real.status, mine.status]).toEqual([0, 0]);
    expect(real.stdout).toContain('-c/--configuration FILENAME');
    expect(mine.stdout).toContain('-c/--configuration FILENAME');
  });
});

describe('command-line mistakes, ours against Debian supervisorctl 4.2.5', () => {
  it.each([
    [['--bogus']],
    [['--h']],
    [['--s=x']],
    [['-sfoo']],
    [['-c']],
    [['--serverurl']],
    [['-i', '-i']],
    [['--interactive=1']],
    [['-x']],
    [['-c', MISSING, 'status']],
    [['-s', 'http://a', '-s', 'http://b']],
    [['-u', 'a', '--user=b', 'status']],
  ])('supervisorctl %j', (args) => {
    const real = run('/usr/bin/supervisorctl', args, '/usr/bin/supervisorctl');
    const mine = run(process.execPath, [distProgram('supervisorctl'), ...args], distProgram('supervisorctl'));
    expect(real.status).toBe(2);
    expect(mine).toEqual(real);
  });
});
