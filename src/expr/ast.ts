/**
 * Typed AST. `pos` is the UTF-16 offset of the token that names the node (the operator of a binary
 * expression, the property of a member access…), used for error columns. `depth` is the height of
 * the subtree: the parser rejects trees taller than the limit, which bounds the interpreter's recursion.
 */

import type { BuiltinDef } from './builtins.js';

interface Base {
  readonly pos: number;
  readonly depth: number;
}

export type BinaryOp =
  | 'or'
  | 'and'
  | '=='
  | '!='
  | '<'
  | '>'
  | '<='
  | '>='
  | 'in'
  | 'matches'
  | 'contains'
  | 'startsWith'
  | 'endsWith'
  | '..'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%'
  | '**'
  | '??';

/** `#` is '', `#index` is 'index'…; the checker rejects names the enclosing builtin does not define. */
export type PointerName = string;

export type Node =
  | (Base & { readonly type: 'nil' })
  | (Base & { readonly type: 'bool'; readonly value: boolean })
  | (Base & { readonly type: 'int'; readonly value: bigint })
  | (Base & { readonly type: 'float'; readonly value: number })
  | (Base & { readonly type: 'string'; readonly value: string })
  | (Base & { readonly type: 'ident'; readonly name: string })
  | (Base & { readonly type: 'pointer'; readonly name: PointerName })
  | (Base & { readonly type: 'unary'; readonly op: '-' | '+' | 'not'; readonly operand: Node })
  | (Base & { readonly type: 'binary'; readonly op: BinaryOp; readonly left: Node; readonly right: Node })
  | (Base & { readonly type: 'cond'; readonly test: Node; readonly then: Node; readonly otherwise: Node })
  | (Base & { readonly type: 'array'; readonly items: readonly Node[] })
  | (Base & { readonly type: 'map'; readonly entries: readonly (readonly [Node, Node])[] })
  | (Base & {
      readonly type: 'member';
      readonly object: Node;
      readonly property: Node;
      readonly optional: boolean;
    })
  | (Base & { readonly type: 'slice'; readonly object: Node; readonly from?: Node; readonly to?: Node })
  | (Base & { readonly type: 'chain'; readonly node: Node })
  | (Base & {
      readonly type: 'method';
      readonly object: Node;
      readonly name: string;
      readonly args: readonly Node[];
      readonly optional: boolean;
    })
  | (Base & { readonly type: 'builtin'; readonly def: BuiltinDef; readonly args: readonly Node[] })
  | (Base & { readonly type: 'predicate'; readonly body: Node })
  | (Base & { readonly type: 'call'; readonly name: string; readonly args: readonly Node[] })
  | (Base & { readonly type: 'let'; readonly name: string; readonly value: Node; readonly body: Node })
  | (Base & { readonly type: 'sequence'; readonly nodes: readonly Node[] });

export type NodeOf<T extends Node['type']> = Extract<Node, { type: T }>;

/** The direct subexpressions of a node, in source order. */
export function childrenOf(n: Node): readonly Node[] {
  switch (n.type) {
    case 'unary':
      return [n.operand];
    case 'binary':
      return [n.left, n.right];
    case 'cond':
      return [n.test, n.then, n.otherwise];
    case 'array':
      return n.items;
    case 'map':
      return n.entries.flat();
    case 'member':
      return [n.object, n.property];
    case 'slice':
      return [n.object, ...(n.from ? [n.from] : []), ...(n.to ? [n.to] : [])];
    case 'chain':
      return [n.node];
    case 'method':
      return [n.object, ...n.args];
    case 'builtin':
    case 'call':
      return n.args;
    case 'predicate':
      return [n.body];
    case 'let':
      return [n.value, n.body];
    case 'sequence':
      return n.nodes;
    default:
      return [];
  }
}
