/**
 * A small strict XML 1.0 reader for tests: well-formedness (one root, matched tags, quoted attributes, no raw
 * `<` or bare `&` in text or values, only the five predefined entities and numeric references, only characters
 * XML allows) and the decoded tree back, so a test can compare what a server sent with what a reader gets.
 * Written character by character: a regex could accept what a parser refuses.
 */
export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  text: string;
}

export class XmlError extends Error {}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function allowedChar(c: number): boolean {
  return c === 0x9 || c === 0xa || c === 0xd || (c >= 0x20 && c <= 0xd7ff) || (c >= 0xe000 && c <= 0xfffd) || (c >= 0x10000 && c <= 0x10ffff);
}

const isNameStart = (ch: string): boolean => (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch === '_' || ch === ':';
const isNameChar = (ch: string): boolean => isNameStart(ch) || (ch >= '0' && ch <= '9') || ch === '-' || ch === '.';
const isSpace = (ch: string | undefined): boolean => ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r';

export function parseXml(src: string): XmlElement {
  for (const ch of src) {
    const c = ch.codePointAt(0)!;
    if (!allowedChar(c) || (c >= 0xd800 && c <= 0xdfff)) throw new XmlError(`character U+${c.toString(16)} is not allowed in XML`);
  }
  let i = 0;
  const peek = (n = 0): string | undefined => src[i + n];
  const expect = (s: string): void => {
    if (src.slice(i, i + s.length) !== s) throw new XmlError(`expected ${JSON.stringify(s)} at ${i}`);
    i += s.length;
  };
  const spaces = (): void => {
    while (isSpace(peek())) i++;
  };
  const name = (): string => {
    const start = i;
    if (!isNameStart(peek() ?? '')) throw new XmlError(`expected a name at ${i}`);
    while (isNameChar(peek() ?? '')) i++;
    return src.slice(start, i);
  };
  const reference = (): string => {
    expect('&');
    const end = src.indexOf(';', i);
    if (end < 0 || end - i > 10) throw new XmlError(`unterminated reference at ${i}`);
    const body = src.slice(i, end);
    i = end + 1;
    if (body.startsWith('#x')) {
      const hex = body.slice(2);
      if (hex === '' || [...hex].some((h) => !'0123456789abcdefABCDEF'.includes(h))) throw new XmlError(`bad reference &${body};`);
      const c = parseInt(hex, 16);
      if (!allowedChar(c)) throw new XmlError(`reference to a forbidden character &${body};`);
      return String.fromCodePoint(c);
    }
    if (body.startsWith('#')) {
      const dec = body.slice(1);
      if (dec === '' || [...dec].some((d) => d < '0' || d > '9')) throw new XmlError(`bad reference &${body};`);
      const c = Number(dec);
      if (!allowedChar(c)) throw new XmlError(`reference to a forbidden character &${body};`);
      return String.fromCodePoint(c);
    }
    const v = ENTITIES[body];
    if (v === undefined) throw new XmlError(`unknown entity &${body};`);
    return v;
  };
  const attrValue = (): string => {
    const q = peek();
    if (q !== '"' && q !== "'") throw new XmlError(`unquoted attribute value at ${i}`);
    i++;
    let out = '';
    for (;;) {
      const ch = peek();
      if (ch === undefined) throw new XmlError('unterminated attribute value');
      if (ch === q) break;
      if (ch === '<') throw new XmlError(`raw < in an attribute value at ${i}`);
      if (ch === '&') out += reference();
      else {
        // Attribute-value normalisation: a literal whitespace character becomes a space.
        out += isSpace(ch) ? ' ' : ch;
        i++;
      }
    }
    i++;
    return out;
  };
  const element = (): XmlElement => {
    expect('<');
    const el: XmlElement = { name: name(), attrs: {}, children: [], text: '' };
    for (;;) {
      const hadSpace = isSpace(peek());
      spaces();
      if (peek() === '/') {
        expect('/>');
        return el;
      }
      if (peek() === '>') {
        i++;
        break;
      }
      if (!hadSpace) throw new XmlError(`expected a space before an attribute at ${i}`);
      const an = name();
      spaces();
      expect('=');
      spaces();
      if (an in el.attrs) throw new XmlError(`duplicate attribute ${an}`);
      el.attrs[an] = attrValue();
    }
    for (;;) {
      const ch = peek();
      if (ch === undefined) throw new XmlError(`unclosed <${el.name}>`);
      if (ch === '<') {
        if (peek(1) === '/') {
          i += 2;
          const n = name();
          if (n !== el.name) throw new XmlError(`</${n}> closes <${el.name}>`);
          spaces();
          expect('>');
          return el;
        }
        if (peek(1) === '!' || peek(1) === '?') throw new XmlError(`markup declarations are not expected inside elements (at ${i})`);
        el.children.push(element());
      } else if (ch === '&') el.text += reference();
      else {
        if (ch === '>' && src.slice(i - 2, i) === ']]') throw new XmlError(']]> in text');
        el.text += ch;
        i++;
      }
    }
  };
  if (src.startsWith('<?xml')) {
    const end = src.indexOf('?>');
    if (end < 0) throw new XmlError('unterminated XML declaration');
    i = end + 2;
  }
  spaces();
  const root = element();
  spaces();
  if (i !== src.length) throw new XmlError(`content after the root element at ${i}`);
  return root;
}

export function findAll(el: XmlElement, name: string): XmlElement[] {
  const out: XmlElement[] = [];
  const walk = (e: XmlElement): void => {
    if (e.name === name) out.push(e);
    e.children.forEach(walk);
  };
  walk(el);
  return out;
}
