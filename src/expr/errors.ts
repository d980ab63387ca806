/**
 * Errors of the expression engine. Every failure that leaves this module is an ExprError, so a
 * controller can treat any throw from `evaluate` as "the condition is broken", never as a crash.
 */

export type ExprErrorKind = 'syntax' | 'type' | 'runtime' | 'limit';

export class ExprError extends Error {
  override readonly name = 'ExprError';
  readonly kind: ExprErrorKind;
  /** 1-based column (in code points) of the offending token or node within the whole expression. */
  readonly column: number;
  readonly expression: string;
  /** The message without the kind prefix and the column suffix. */
  readonly detail: string;

  constructor(kind: ExprErrorKind, detail: string, column: number, expression: string) {
    super(`${kind} error: ${detail} at column ${column}`);
    this.kind = kind;
    this.detail = detail;
    this.column = column;
    this.expression = expression;
  }
}

/**
 * A failure raised by value helpers and builtins, which do not know where in the source they are.
 * The interpreter converts it into an ExprError carrying the column of the node being evaluated.
 */
export class Fault extends Error {
  readonly kind: ExprErrorKind;
  constructor(kind: ExprErrorKind, message: string) {
    super(message);
    this.kind = kind;
  }
}

export const typeFault = (message: string): Fault => new Fault('type', message);
export const runtimeFault = (message: string): Fault => new Fault('runtime', message);
export const limitFault = (message: string): Fault => new Fault('limit', message);

/** 1-based column of UTF-16 offset `index`, counted in code points so astral characters count once. */
export function columnAt(source: string, index: number): number {
  const end = Math.max(0, Math.min(index, source.length));
  let column = 1;
  for (let i = 0; i < end; i++) {
    const c = source.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < end) {
      const d = source.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) i++;
    }
    column++;
  }
  return column;
}
