// A small, strict XML reader for the XML-RPC codec (xmlrpc.ts): elements, text, CDATA, comments, processing
// instructions and the XML declaration; the five named entities and numeric character references. It refuses
// what expat (and so supervisord and Python's xmlrpc.client) refuses: mismatched or unclosed tags, markup
// characters out of place, undefined entities, a declaration not at the start, trailing garbage, a DOCTYPE
// (XML-RPC never needs one, and entity declarations are the XML bomb vector).
// Written by hand because fast-xml-parser cost supervisorctl several ms of start-up for what XML-RPC uses of it.

export interface XmlElement {
  name: string;
  /** Text is entity-decoded and line ends normalised (as expat does); comments and PIs are dropped. */
  children: (XmlElement | string)[];
}

/** Malformed XML: `message` names the problem and where it is (expat's wording, line and column). */
export class XmlSyntaxError extends Error {}

// Deeper nesting than any XML-RPC peer sends; a limit keeps the decoder's recursion off the stack's edge.
const MAX_DEPTH = 512;

// XML names, simplified to what can appear in practice (ASCII plus every non-ASCII letter range as a block).
const NAME = /[A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9._:\u00B7\u00C0-\uFFFF]*/y;
const SPACE = /[ \t\r\n]*/y;
const ATTRIBUTE = /([A-Za-z_:\u00C0-\uFFFF][-A-Za-z0-9._:\u00B7\u00C0-\uFFFF]*)[ \t\r\n]*=[ \t\r\n]*(?:"([^"<]*)"|'([^'<]*)')/y;
const REFERENCE = /&(?:#x([0-9a-fA-F]+)|#([0-9]+)|([A-Za-z_:][-A-Za-z0-9._:]*));/y;
const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

// XML 1.0's Char production, for characters given as references.
function isXmlChar(codePoint: number): boolean {
  if (codePoint === 0x9 || codePoint === 0xa || codePoint === 0xd) return true;
  if (codePoint < 0x20 || codePoint > 0x10ffff) return false;
  return !(codePoint >= 0xd800 && codePoint <= 0xdfff) && codePoint !== 0xfffe && codePoint !== 0xffff;
}

class Reader {
  at = 0;
  constructor(readonly xml: string) {}

  fail(message: string, at = this.at): never {
    const before = this.xml.slice(0, at);
    const line = before.split('\n').length;
    const column = at - (before.lastIndexOf('\n') + 1);
    throw new XmlSyntaxError(`${message}: line ${line}, column ${column}`);
  }

  startsWith(text: string): boolean {
    return this.xml.startsWith(text, this.at);
  }

  match(pattern: RegExp): RegExpExecArray | null {
    pattern.lastIndex = this.at;
    const found = pattern.exec(this.xml);
    if (found !== null) this.at = pattern.lastIndex;
    return found;
  }

  skipSpace(): boolean {
    const from = this.at;
    this.match(SPACE);
    return this.at > from;
  }

  name(): string {
    const found = this.match(NAME);
    if (found === null) this.fail('not well-formed (invalid token)');
    return found[0];
  }

  /** Up to `end`, which is consumed; `what` names the construct left open. */
  until(end: string, what: string): string {
    const found = this.xml.indexOf(end, this.at);
    if (found < 0) this.fail(`unclosed ${what}`);
    const text = this.xml.slice(this.at, found);
    this.at = found + end.length;
    return text;
  }

  /** A comment or processing instruction at the cursor (which starts with `<!--` or `<?`). */
  misc(): void {
    const start = this.at;
    if (this.startsWith('<!--')) {
      this.at += 4;
      const body = this.until('-->', 'comment');
      if (body.includes('--') || body.endsWith('-')) this.fail('not well-formed (invalid token)', start);
      return;
    }
    this.at += 2;
    const target = this.name();
    if (target.toLowerCase() === 'xml') this.fail('XML or text declaration not at start of entity', start);
    if (!this.skipSpace() && !this.startsWith('?>')) this.fail('not well-formed (invalid token)');
    this.until('?>', 'processing instruction');
  }

  /** Comments, PIs and whitespace outside the root element. */
  skipMisc(): void {
    for (;;) {
      this.skipSpace();
      if (this.startsWith('<!--') || this.startsWith('<?')) this.misc();
      else return;
    }
  }

  /** Decodes references in raw text or an attribute value; a `&` that starts none is malformed. */
  decode(raw: string, offset: number): string {
    let text = raw.includes('\r') ? raw.replace(/\r\n?/g, '\n') : raw;
    if (!text.includes('&')) return text;
    let out = '';
    let from = 0;
    for (let amp = text.indexOf('&'); amp >= 0; amp = text.indexOf('&', from)) {
      REFERENCE.lastIndex = amp;
      const found = REFERENCE.exec(text);
      if (found === null) this.fail('not well-formed (invalid token)', offset + amp);
      out += text.slice(from, amp);
      const [reference, hex, decimal, name] = found;
      if (name !== undefined) {
        const named = NAMED_ENTITIES[name];
        if (named === undefined) this.fail(`undefined entity ${reference}`, offset + amp);
        out += named;
      } else {
        const codePoint = hex !== undefined ? Number.parseInt(hex, 16) : Number(decimal);
        if (!isXmlChar(codePoint)) this.fail(`reference to invalid character number: ${reference}`, offset + amp);
        out += String.fromCodePoint(codePoint);
      }
      from = REFERENCE.lastIndex;
    }
    text = out + text.slice(from);
    return text;
  }

  /** A start tag at the cursor (just past `<`); returns whether it closed itself (`/>`). */
  startTag(): { name: string; empty: boolean } {
    const name = this.name();
    const seen = new Set<string>();
    for (;;) {
      const spaced = this.skipSpace();
      if (this.startsWith('/>')) {
        this.at += 2;
        return { name, empty: true };
      }
      if (this.startsWith('>')) {
        this.at += 1;
        return { name, empty: false };
      }
      const attributeAt = this.at;
      const attribute = spaced ? this.match(ATTRIBUTE) : null;
      if (attribute === null) this.fail('not well-formed (invalid token)');
      const attributeName = attribute[1] ?? '';
      if (seen.has(attributeName)) this.fail('duplicate attribute', attributeAt);
      seen.add(attributeName);
      // Attribute values are ignored (XML-RPC has none), but a bad reference in one is still malformed.
      this.decode(attribute[2] ?? attribute[3] ?? '', attributeAt);
    }
  }

  /** The root element and everything inside it: iterative, so depth costs no stack. */
  element(): XmlElement {
    if (!this.startsWith('<') || this.startsWith('</') || this.startsWith('<!')) this.fail('syntax error');
    this.at += 1;
    const first = this.startTag();
    const root: XmlElement = { name: first.name, children: [] };
    if (first.empty) return root;
    const open: XmlElement[] = [root];
    for (;;) {
      const current = open[open.length - 1];
      if (current === undefined) return root;
      const textStart = this.at;
      const lt = this.xml.indexOf('<', this.at);
      if (lt < 0) {
        this.at = this.xml.length;
        this.fail('no element found');
      }
      if (lt > textStart) {
        const raw = this.xml.slice(textStart, lt);
        const cdataEnd = raw.indexOf(']]>');
        if (cdataEnd >= 0) this.fail('not well-formed (invalid token)', textStart + cdataEnd);
        current.children.push(this.decode(raw, textStart));
      }
      this.at = lt;
      if (this.startsWith('</')) {
        const closeAt = this.at;
        this.at += 2;
        const name = this.name();
        this.skipSpace();
        if (!this.startsWith('>')) this.fail('not well-formed (invalid token)');
        this.at += 1;
        if (name !== current.name) this.fail('mismatched tag', closeAt);
        open.pop();
      } else if (this.startsWith('<![CDATA[')) {
        this.at += 9;
        const text = this.until(']]>', 'CDATA section');
        current.children.push(text.includes('\r') ? text.replace(/\r\n?/g, '\n') : text);
      } else if (this.startsWith('<!--') || this.startsWith('<?')) {
        this.misc();
      } else if (this.startsWith('<!')) {
        this.fail('syntax error');
      } else {
        this.at += 1;
        const tag = this.startTag();
        const child: XmlElement = { name: tag.name, children: [] };
        current.children.push(child);
        if (!tag.empty) {
          if (open.length >= MAX_DEPTH) this.fail(`elements nested deeper than ${MAX_DEPTH}`);
          open.push(child);
        }
      }
    }
  }
}

const DECLARATION = /<\?xml[ \t\r\n][^?]*\?>/y;

/** The document's root element; throws XmlSyntaxError on anything that is not well-formed XML. */
export function parseXml(xml: string): XmlElement {
  const reader = new Reader(xml);
  if (reader.startsWith('\uFEFF')) reader.at = 1;
  if (/^<\?xml[ \t\r\n]/.test(xml.slice(reader.at, reader.at + 6)) && reader.match(DECLARATION) === null) {
    reader.fail('unclosed XML declaration');
  }
  reader.skipMisc();
  if (reader.startsWith('<!DOCTYPE')) reader.fail('DOCTYPE is not allowed in XML-RPC');
  if (reader.at >= xml.length) reader.fail('no element found');
  const root = reader.element();
  reader.skipMisc();
  if (reader.at < xml.length) reader.fail('junk after document element');
  return root;
}
