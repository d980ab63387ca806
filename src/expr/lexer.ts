/**
 * Tokenizer following expr-lang's parser/lexer (state.go, lexer.go): same token boundaries,
 * same escapes, same keyword set, so error columns line up with what users see from Argo.
 */

import { columnAt, ExprError } from './errors.js';

export type TokenKind = 'number' | 'string' | 'ident' | 'op' | 'bracket' | 'eof';

export interface Token {
  readonly kind: TokenKind;
  /** Raw text for numbers / identifiers / operators, the decoded value for strings. */
  readonly value: string;
  /** UTF-16 offset of the first character. */
  readonly pos: number;
}

/** Words lexed as operators (expr's identifier state). */
const KEYWORDS = new Set([
  'not',
  'in',
  'or',
  'and',
  'matches',
  'contains',
  'startsWith',
  'endsWith',
  'let',
  'if',
  'else',
]);

const LETTER = /\p{L}/u;
const DIGIT = /\p{Nd}/u;
const SPACE = /\s/u;

export function isAlphabetic(ch: string): boolean {
  return ch === '_' || ch === '$' || LETTER.test(ch);
}

export function isAlphaNumeric(ch: string): boolean {
  return isAlphabetic(ch) || DIGIT.test(ch);
}

export function isValidIdentifier(s: string): boolean {
  const chars = Array.from(s);
  if (chars.length === 0 || !isAlphabetic(chars[0] as string)) return false;
  return chars.every(isAlphaNumeric);
}

export function tokenize(src: string): Token[] {
  return new Lexer(src).run();
}

class Lexer {
  private readonly src: string;
  private i = 0;
  private readonly tokens: Token[] = [];

  constructor(src: string) {
    this.src = src;
  }

  private fail(message: string, pos: number): never {
    throw new ExprError('syntax', message, columnAt(this.src, pos), this.src);
  }

  /** The code point at offset i as a string, or '' at the end. */
  private at(i: number): string {
    const cp = this.src.codePointAt(i);
    return cp === undefined ? '' : String.fromCodePoint(cp);
  }

  private push(kind: TokenKind, value: string, pos: number): void {
    this.tokens.push({ kind, value, pos });
  }

  run(): Token[] {
    const src = this.src;
    while (this.i < src.length) {
      const start = this.i;
      const ch = this.at(start);
      const next = this.at(start + 1);
      if (SPACE.test(ch)) {
        this.i += ch.length;
      } else if (ch === '"' || ch === "'") {
        this.push('string', this.quoted(ch), start);
      } else if (ch === '`') {
        this.push('string', this.raw(), start);
      } else if (ch >= '0' && ch <= '9') {
        this.number();
      } else if (ch === '.' && next >= '0' && next <= '9') {
        this.number();
      } else if (ch === '.') {
        this.i += next === '.' ? 2 : 1;
        this.push('op', src.slice(start, this.i), start);
      } else if (ch === '?') {
        this.i += next === '.' || next === '?' ? 2 : 1;
        this.push('op', src.slice(start, this.i), start);
      } else if (ch === '/' && next === '/') {
        const nl = src.indexOf('\n', start);
        this.i = nl < 0 ? src.length : nl + 1;
      } else if (ch === '/' && next === '*') {
        const close = src.indexOf('*/', start + 2);
        if (close < 0) this.fail('unclosed comment', start);
        this.i = close + 2;
      } else if (ch === '|' || ch === ':') {
        this.i += next === ch ? 2 : 1;
        this.push('op', src.slice(start, this.i), start);
      } else if ('([{)]}'.includes(ch)) {
        this.i++;
        this.push('bracket', ch, start);
      } else if (',;%+-^/#'.includes(ch)) {
        this.i++;
        this.push('op', ch, start);
      } else if ('&!=*<>'.includes(ch)) {
        // Possible two-character operator: &&, !=, ==, **, <=, >= (expr accepts one of "&=*").
        this.i += next !== '' && '&=*'.includes(next) ? 2 : 1;
        this.push('op', src.slice(start, this.i), start);
      } else if (isAlphabetic(ch)) {
        let j = start;
        while (j < src.length && isAlphaNumeric(this.at(j))) j += this.at(j).length;
        const word = src.slice(start, j);
        this.i = j;
        this.push(KEYWORDS.has(word) ? 'op' : 'ident', word, start);
      } else {
        this.fail(`unrecognized character ${JSON.stringify(ch)}`, start);
      }
    }
    this.tokens.push({ kind: 'eof', value: '', pos: src.length });
    return this.tokens;
  }

  private number(): void {
    const src = this.src;
    const start = this.i;
    let digits = '0123456789_';
    const acceptRun = (set: string): void => {
      while (this.i < src.length && set.includes(src[this.i] as string)) this.i++;
    };
    if (src[this.i] === '0') {
      this.i++;
      const prefix = (src[this.i] ?? '').toLowerCase();
      const base =
        prefix === 'x'
          ? '0123456789abcdefABCDEF_'
          : prefix === 'o'
            ? '01234567_'
            : prefix === 'b'
              ? '01_'
              : '';
      if (base !== '') {
        digits = base;
        this.i++;
      }
    }
    acceptRun(digits);
    // `1..3` is a range: a dot followed by another dot does not belong to the number.
    if (src[this.i] === '.' && src[this.i + 1] !== '.') {
      this.i++;
      acceptRun(digits);
    }
    if (src[this.i] === 'e' || src[this.i] === 'E') {
      this.i++;
      if (src[this.i] === '+' || src[this.i] === '-') this.i++;
      acceptRun(digits);
    }
    if (this.i < src.length && isAlphaNumeric(this.at(this.i))) {
      this.fail(`bad number syntax: ${JSON.stringify(src.slice(start, this.i + 1))}`, this.i);
    }
    this.push('number', src.slice(start, this.i), start);
  }

  /** A '…' or "…" literal; escapes as expr's scanEscape + unescape accept them. */
  private quoted(quote: string): string {
    const src = this.src;
    const start = this.i;
    let j = start + 1;
    let out = '';
    for (;;) {
      if (j >= src.length) this.fail('literal not terminated', start);
      const c = src[j] as string;
      if (c === quote) break;
      if (c === '\n') this.fail('literal not terminated', start);
      if (c === '\r') {
        // expr normalizes \r\n and \r to \n inside quoted strings.
        out += '\n';
        j += src[j + 1] === '\n' ? 2 : 1;
        continue;
      }
      if (c !== '\\') {
        out += c;
        j++;
        continue;
      }
      const e = src[j + 1] ?? '';
      const escPos = j;
      j += 2;
      switch (e) {
        case 'a':
          out += '\x07';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'v':
          out += '\v';
          break;
        case '\\':
          out += '\\';
          break;
        case 'x':
        case 'u':
        case 'U': {
          const n = e === 'x' ? 2 : e === 'u' ? 4 : 8;
          const hex = src.slice(j, j + n);
          if (!new RegExp(`^[0-9a-fA-F]{${n}}$`).test(hex)) this.fail('invalid char escape', escPos);
          const cp = Number.parseInt(hex, 16);
          if (cp > 0x10ffff) this.fail('invalid char escape', escPos);
          // Go encodes a surrogate half as U+FFFD.
          out += cp >= 0xd800 && cp <= 0xdfff ? '\ufffd' : String.fromCodePoint(cp);
          j += n;
          break;
        }
        case '0':
        case '1':
        case '2':
        case '3': {
          const oct = src.slice(j - 1, j + 2);
          if (!/^[0-3][0-7]{2}$/.test(oct)) this.fail('invalid char escape', escPos);
          out += String.fromCodePoint(Number.parseInt(oct, 8));
          j += 2;
          break;
        }
        default:
          if (e === quote) {
            out += e;
            break;
          }
          this.fail('invalid char escape', escPos);
      }
    }
    this.i = j + 1;
    return out;
  }

  /** A `…` literal: no escapes, a doubled backtick stands for one backtick. */
  private raw(): string {
    const src = this.src;
    const start = this.i;
    let j = start + 1;
    let out = '';
    for (;;) {
      const close = src.indexOf('`', j);
      if (close < 0) this.fail('literal not terminated', start);
      out += src.slice(j, close);
      if (src[close + 1] === '`') {
        out += '`';
        j = close + 2;
        continue;
      }
      this.i = close + 1;
      return out;
    }
  }
}
