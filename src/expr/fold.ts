/**
 * expr-lang's constant folding (optimizer/fold.go), as a pure function: the literal a subtree
 * becomes after folding, or undefined when it stays an expression.
 *
 * Folding is visible to users in a few places, which is why it is modelled at all:
 *   - `x and true` becomes `x` and `x and false` becomes `false`, so the left operand is then not
 *     checked for being a bool, or not evaluated at all (likewise for `or`);
 *   - `n % 0` on constant ints is a compile-time error;
 *   - sum() of an array literal is rewritten to `a + (b + …)` unless the array folds to a constant.
 * Arithmetic gives the same values folded or not (Go ints wrap either way), so nothing else needs it.
 */

import { childrenOf, type Node } from './ast.js';
import { goPow } from './gomath.js';
import { wrapInt } from './values.js';

export type Constant = bigint | number | string | boolean;

const cache = new WeakMap<Node, Constant | null>();

export function constValue(n: Node): Constant | undefined {
  const hit = cache.get(n);
  if (hit !== undefined) return hit ?? undefined;
  const v = fold(n);
  cache.set(n, v === undefined ? null : v);
  return v;
}

const isNum = (v: Constant | undefined): v is bigint | number =>
  typeof v === 'bigint' || typeof v === 'number';

function arithmetic(op: string, a: bigint | number, b: bigint | number): Constant | undefined {
  if (typeof a === 'bigint' && typeof b === 'bigint') {
    switch (op) {
      case '+':
        return wrapInt(a + b);
      case '-':
        return wrapInt(a - b);
      case '*':
        return wrapInt(a * b);
      case '%':
        return b === 0n ? undefined : a % b;
    }
  }
  const x = Number(a);
  const y = Number(b);
  switch (op) {
    case '+':
      return x + y;
    case '-':
      return x - y;
    case '*':
      return x * y;
    case '/':
      return x / y;
    case '**':
      return goPow(x, y);
    default:
      return undefined; // % folds for ints only
  }
}

function fold(n: Node): Constant | undefined {
  switch (n.type) {
    case 'int':
    case 'float':
    case 'string':
    case 'bool':
      return n.value;
    case 'unary': {
      const v = constValue(n.operand);
      if (n.op === 'not') return typeof v === 'boolean' ? !v : undefined;
      if (typeof v === 'bigint') return n.op === '-' ? wrapInt(-v) : v;
      if (typeof v === 'number') return n.op === '-' ? -v : v;
      return undefined;
    }
    case 'binary': {
      const a = constValue(n.left);
      const b = constValue(n.right);
      switch (n.op) {
        case 'and':
          if (a === true) return b;
          if (b === true) return a;
          return a === false || b === false ? false : undefined;
        case 'or':
          if (a === false) return b;
          if (b === false) return a;
          return a === true || b === true ? true : undefined;
        case '==':
          if (
            (typeof a === 'bigint' && typeof b === 'bigint') ||
            (typeof a === 'string' && typeof b === 'string') ||
            (typeof a === 'boolean' && typeof b === 'boolean')
          )
            return a === b;
          return undefined;
        case '+':
          if (typeof a === 'string' && typeof b === 'string') return a + b;
          return isNum(a) && isNum(b) ? arithmetic('+', a, b) : undefined;
        case '-':
        case '*':
        case '/':
        case '**':
          return isNum(a) && isNum(b) ? arithmetic(n.op, a, b) : undefined;
        case '%':
          return typeof a === 'bigint' && typeof b === 'bigint' ? arithmetic('%', a, b) : undefined;
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

/** fold.go turns an array literal whose items all fold to scalars into one constant value. */
export function isConstantArray(n: Node): boolean {
  return n.type === 'array' && n.items.length > 0 && n.items.every((i) => constValue(i) !== undefined);
}

/**
 * expr's compiler keeps one copy of each constant value (compiler.addConstant keys them by value),
 * and float64 0 and -0 are the same key: every float zero constant of an expression takes the sign
 * of the first one compiled. Returns the zero constants to override, or undefined when all agree.
 */
export function zeroConstants(ast: Node): ReadonlyMap<Node, number> | undefined {
  const zeros: Node[] = [];
  const walk = (n: Node): void => {
    const v = constValue(n);
    if (v === 0 && typeof v === 'number') zeros.push(n);
    // A folded subtree, or a constant array, is one constant: its parts are not compiled separately.
    if (v !== undefined || isConstantArray(n)) return;
    for (const child of childrenOf(n)) walk(child);
  };
  walk(ast);
  const first = zeros[0];
  if (first === undefined) return undefined;
  const sign = Object.is(constValue(first), -0) ? -0 : 0;
  if (zeros.every((z) => Object.is(constValue(z), sign))) return undefined;
  return new Map(zeros.map((z) => [z, sign]));
}
