/**
 * Errors of the expression engine. Every failure that leaves this module is an ExprError, so a
 * controller can treat any throw from `evaluate` as "the condition is broken", never as a crash.
 */

/**
 * Which stage refused the expression, as in expr-lang: 'syntax' (its parser), 'type' (its
 * checker, which knows the types of the environment's variables, or its constant folding; also
 * Vireo's refusals to look into opaque values or call functions), 'runtime' (while running),
 * 'limit' (one of Vireo's own bounds on size and work).
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
  /**
   * A refusal by Vireo's own safety policy (opaque values, functions from the environment), not a
   * failure expr-lang would report: it stays a 'type' error whenever it is raised.
   */
  readonly policy: boolean;
  constructor(kind: ExprErrorKind, message: string, policy = false) {
    super(message);
    this.kind = kind;
    this.policy = policy;
  }
}

export const typeFault = (message: string): Fault => new Fault('type', message);
export const runtimeFault = (message: string): Fault => new Fault('runtime', message);
export const limitFault = (message: string): Fault => new Fault('limit', message);
export const policyFault = (message: string): Fault => new Fault('type', message, true);

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
