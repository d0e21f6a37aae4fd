import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { IniDocument, IniSyntaxError } from '../../../src/supervisor/config/ini.js';
import { describeWithPeers } from '../fixtures.js';

function parse(text: string): IniDocument {
  const doc = new IniDocument();
  doc.read(text, '/etc/x.conf');
  return doc;
}

function value(doc: IniDocument, section: string, key: string): string | undefined {
  return doc.get(section, key)?.value;
}

describe('ini reader (RawConfigParser rules)', () => {
  it('drops full-line comments starting with ; or #, also indented ones', () => {
    const doc = parse('; top\n# top\n[a]\n  ; indented\nx=1\n   # indented hash\n');
    expect(value(doc, 'a', 'x')).toBe('1');
    expect(doc.keys('a')).toEqual(['x']);
  });

  it('cuts inline ; and # only after whitespace, quotes give no protection', () => {
    const doc = parse(
      '[a]\nstartsecs=3;x\ncommand=/bin/echo x#y z;w ;c\nquoted=/bin/echo "a ; b"\ntab=v\t#c\nhash=a #b ;c\n',
    );
    expect(value(doc, 'a', 'startsecs')).toBe('3;x');
    expect(value(doc, 'a', 'command')).toBe('/bin/echo x#y z;w');
    expect(value(doc, 'a', 'quoted')).toBe('/bin/echo "a');
    expect(value(doc, 'a', 'tab')).toBe('v');
    expect(value(doc, 'a', 'hash')).toBe('a');
  });

  it('reproduces configparser: the first round of prefix matches decides the cut', () => {
    // `;` first occurs unpreceded by space, `#` first occurs after a space: the cut is at `#`
    // even though a later ` ;` comes earlier.
    const doc = parse('[a]\nx=v;y ;z #w\n');
    expect(value(doc, 'a', 'x')).toBe('v;y ;z');
  });

  it('accepts = and : as delimiters with spaces around, and lower-cases keys', () => {
    const doc = parse('[a]\nCOMMAND : /bin/echo\nKey = v=w\nother:a:b\n');
    expect(value(doc, 'a', 'command')).toBe('/bin/echo');
    expect(value(doc, 'a', 'key')).toBe('v=w');
    expect(value(doc, 'a', 'other')).toBe('a:b');
  });

  it('keeps section names case-sensitive', () => {
    const doc = parse('[Program:A]\nx=1\n[program:a]\nx=2\n');
    expect(doc.sectionNames()).toEqual(['Program:A', 'program:a']);
  });

  it('joins continuation lines with newlines, keeps inner blank lines, strips trailing ones', () => {
    const doc = parse('[a]\nx=a\n  next\n\n  after-blank\n\n\n[b]\ny=1\n');
    expect(value(doc, 'a', 'x')).toBe('a\nnext\n\nafter-blank');
    expect(value(doc, 'b', 'y')).toBe('1');
  });

  it('continues a value across a comment line', () => {
    const doc = parse('[a]\nx=1\n; note\n  more\n');
    expect(value(doc, 'a', 'x')).toBe('1\nmore');
  });

  it('treats an indented line right after a header as a key, not a continuation', () => {
    const doc = parse('[a]\n  x=1\n    y\n');
    expect(value(doc, 'a', 'x')).toBe('1\ny');
  });

  it('merges repeated sections and lets the later key win (strict=False)', () => {
    const doc = parse('[a]\nx=1\ny=1\n[b]\n[a]\nx=2\n');
    expect(value(doc, 'a', 'x')).toBe('2');
    expect(value(doc, 'a', 'y')).toBe('1');
    expect(doc.sectionNames()).toEqual(['a', 'b']);
    expect(doc.get('a', 'x')?.line).toBe(6);
  });

  it('merges a second file into the same document, remembering each key\'s file', () => {
    const doc = new IniDocument();
    doc.read('[a]\nx=1\ny=1\n', '/etc/main.conf');
    doc.read('[a]\nx=2\n', '/etc/conf.d/more.conf');
    expect(doc.get('a', 'x')).toEqual({ value: '2', file: '/etc/conf.d/more.conf', line: 2 });
    expect(doc.get('a', 'y')?.file).toBe('/etc/main.conf');
    expect(doc.sections.get('a')?.file).toBe('/etc/main.conf');
  });

  it('falls back to [DEFAULT] keys for every section', () => {
    const doc = parse('[DEFAULT]\nstartsecs=5\n[a]\nx=1\n');
    expect(value(doc, 'a', 'startsecs')).toBe('5');
    expect(doc.sectionNames()).toEqual(['a']);
    expect(doc.keys('a').sort()).toEqual(['startsecs', 'x']);
  });

  it('records line numbers of keys', () => {
    const doc = parse('[a]\n\nx=1\n\n\ny=2\n');
    expect(doc.get('a', 'x')?.line).toBe(3);
    expect(doc.get('a', 'y')?.line).toBe(6);
  });

  it('ends the header at the last ]', () => {
    const doc = parse('[a]b] trailing\nx=1\n');
    expect(doc.sectionNames()).toEqual(['a]b']);
  });

  it('reports every bad line as configparser does', () => {
    const doc = new IniDocument();
    let error: unknown;
    try {
      doc.read('[a]\nx=1\nnot a section line\n=novalue\n', '/abs/x.conf', 'x.conf');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(IniSyntaxError);
    expect((error as IniSyntaxError).message).toBe(
      "Source contains parsing errors: 'x.conf'\n\t[line  3]: 'not a section line\\n'\n\t[line  4]: '=novalue\\n'",
    );
    expect((error as IniSyntaxError).line).toBe(3);
  });

  it('keeps continuing the last key after a bad line, as configparser does', () => {
    expect(() => parse('[a]\nx=1\nbad\n   indented\nbad2\n')).toThrow(
      "Source contains parsing errors: '/etc/x.conf'\n\t[line  3]: 'bad\\n'\n\t[line  5]: 'bad2\\n'",
    );
  });

  it('rejects keys before any section header', () => {
    expect(() => parse('x=1\n[a]\n')).toThrow("File contains no section headers.\nfile: '/etc/x.conf', line: 1\n'x=1\\n'");
  });

  it('handles CRLF line endings and a missing final newline', () => {
    const doc = parse('[a]\r\nx=1\r\ny=2');
    expect(value(doc, 'a', 'x')).toBe('1');
    expect(value(doc, 'a', 'y')).toBe('2');
  });
});

// The same texts through supervisord's own parser (supervisor.options.UnhosedConfigParser, run by the Python
// Debian's supervisor is installed with): the sections, keys and raw values must be ours. The texts aim at the
// reader's line rules (separators, headers, whitespace, comments, continuations, line endings). Whitespace is
// kept to what Python's str.isspace and ECMAScript agree on (not U+001C–U+001F nor U+FEFF).
const PYTHON = '/usr/bin/python3';
// Each text is read as supervisord reads a file: with universal newlines (StringIO's newline=None).
const DUMP = `
import io, json, sys
from supervisor.options import UnhosedConfigParser
out = []
for text in json.load(sys.stdin):
    parser = UnhosedConfigParser()
    try:
        parser.read_file(io.StringIO(text, newline=None))
        out.append({s: {k: parser.get(s, k, raw=True) for k in parser.options(s)} for s in parser.sections()})
    except Exception as e:
        out.append(type(e).__name__)
print(json.dumps(out))
`;

const TEXTS = [
  '[a]\nk = v\n',
  '[a]\nk=v\nK : w\n',
  '[a]\nk : = v\n',
  '[a]\nk = : v\n',
  '[a]\nk:v=w\n',
  '[a]\n  k\t=\tv\t\n',
  '[a]\nk\u00a0=\u00a0v\u00a0\n',
  '[a]\n\u3000k\u2003: v\u2009\n',
  '[a]\n= v\n',
  '[a]\nnovalue\n',
  '[]]\nx=1\n',
  '[]\nx=1\n',
  '[a] tail\nk=v\n',
  '[a]b]\nk=v\n',
  '  [a]\nk=v\n',
  '[a]\nk=v\n  [b]\nx=1\n',
  '[a]\nk = one\n  two\n\n  three\n\n\n[b]\nx=1\n',
  '[a]\nk = one\n# comment\n  two\n',
  '[a]\nk = v ; comment\nj = v;not\nm = v #c\n',
  '[a]\r\nk = v\r\n  w\r\n',
  '[a]\rk = v\r',
  '[a]\nk = v',
  '[DEFAULT]\nd = 1\n[a]\nk = v\n',
  'k = v\n',
  '[a]\nk = v\n[a]\nk = w\nj = x\n',
];

describeWithPeers([PYTHON])('ini reader against supervisord\'s own parser', () => {
  it('reads every text as UnhosedConfigParser does', () => {
    const run = spawnSync(PYTHON, ['-c', DUMP], { input: JSON.stringify(TEXTS), encoding: 'utf8' });
    expect(run.stderr).toBe('');
    const theirs = JSON.parse(run.stdout) as unknown[];
    const ours = TEXTS.map((text) => {
      try {
        const doc = parse(text);
        return Object.fromEntries(doc.sectionNames().map((s) => [s, Object.fromEntries(doc.keys(s).map((k) => [k, value(doc, s, k)]))]));
      } catch (error) {
        if (error instanceof IniSyntaxError) return 'error';
        throw error;
      }
    });
    TEXTS.forEach((text, i) => {
      const expected = typeof theirs[i] === 'string' ? 'error' : theirs[i];
      expect(ours[i], JSON.stringify(text)).toEqual(expected);
    });
  });
});
