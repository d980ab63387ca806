import { describe, expect, it } from 'vitest';
import {
  compile,
  ExprDuration,
  ExprError,
  ExprTime,
  evaluate,
  evaluateCondition,
  evaluateThresholdRange,
} from './index.js';

describe('compile / run', () => {
  it('parses once and runs against many environments', () => {
    const c = compile('result[0] > 0.90');
    expect(c.source).toBe('result[0] > 0.90');
    expect(c.run({ result: [0.95] })).toBe(true);
    expect(c.run({ result: [0.5] })).toBe(false);
  });

  it('reports syntax errors at compile time, runtime errors at run time', () => {
    expect(() => compile('1 +')).toThrow(ExprError);
    const c = compile('result[0]');
    expect(() => c.run({ result: [] })).toThrow(/index out of range/);
  });

  it('converts results to plain JS values', () => {
    const out = evaluate('{a: [1, 2.5, nil], b: {c: "x"}}') as Record<string, unknown>;
    expect(out).toEqual({ a: [1, 2.5, null], b: { c: 'x' } });
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(typeof evaluate('1 + 1')).toBe('number');
    expect(evaluate('x', { x: undefined })).toBeNull();
  });

  it('takes the clock from options.now', () => {
    const now = new Date('2030-01-01T00:00:00Z');
    expect(evaluate('now()', {}, { now })).toEqual(new ExprTime(now.getTime()));
    const start = evaluate('now() - duration("1h")', {}, { now }) as ExprTime;
    expect(start.kind).toBe('time');
    expect(new Date(start.ms).toISOString()).toBe('2029-12-31T23:00:00.000Z');
    const d = evaluate('duration("1h30m")') as ExprDuration;
    expect(d).toEqual(new ExprDuration(5_400_000_000_000));
    expect(d.kind).toBe('duration');
  });

  it('rejects non-string expressions with an ExprError', () => {
    expect(() => evaluate(42 as unknown as string)).toThrow(ExprError);
  });

  it('error objects carry kind, column, expression and a readable message', () => {
    try {
      evaluate('(1 + 2))');
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      const x = e as ExprError;
      expect(x.kind).toBe('syntax');
      expect(x.column).toBe(8);
      expect(x.expression).toBe('(1 + 2))');
      expect(x.message).toBe('syntax error: unexpected token ")" at column 8');
      expect(x.name).toBe('ExprError');
    }
  });

  it('counts columns in code points', () => {
    try {
      evaluate('"😀😀" + 1');
      expect.unreachable();
    } catch (e) {
      expect((e as ExprError).column).toBe(6);
    }
  });
});

describe('evaluateCondition (Argo Rollouts)', () => {
  it('evaluates with result and the helpers', () => {
    expect(evaluateCondition('result[0] >= 0.95', [0.97])).toBe(true);
    expect(evaluateCondition('asInt(result) > 3', '5')).toBe(true);
    expect(evaluateCondition('default(result, 0) > 0.5', null)).toBe(false);
    expect(evaluateCondition('isNaN(result)', Number.NaN)).toBe(true);
    expect(evaluateCondition('isNil(result)', undefined)).toBe(true);
    expect(evaluateCondition('result.ok', { ok: true })).toBe(true);
  });

  it('requires a boolean outcome', () => {
    try {
      evaluateCondition('result', 1.5);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(ExprError);
      expect((e as ExprError).kind).toBe('type');
      expect((e as ExprError).message).toContain('condition must evaluate to a boolean, got float');
    }
    expect(() => evaluateCondition('len(result)', [1])).toThrow(/got int/);
    expect(() => evaluateCondition('result', null)).toThrow(/got nil/);
  });

  it('passes errors through as ExprErrors', () => {
    expect(() => evaluateCondition('result[0] > 0.9', [])).toThrow(ExprError);
    expect(() => evaluateCondition('result >', 1)).toThrow(/syntax error/);
  });
});

describe('evaluateThresholdRange (Flagger)', () => {
  it('passes inside inclusive bounds', () => {
    expect(evaluateThresholdRange(99, { min: 99 })).toBe(true);
    expect(evaluateThresholdRange(500, { max: 500 })).toBe(true);
    expect(evaluateThresholdRange(50, { min: 0, max: 100 })).toBe(true);
    expect(evaluateThresholdRange(5, {})).toBe(true);
  });

  it('fails outside the bounds', () => {
    expect(evaluateThresholdRange(98.9, { min: 99 })).toBe(false);
    expect(evaluateThresholdRange(500.1, { max: 500 })).toBe(false);
    expect(evaluateThresholdRange(-1, { min: 0, max: 100 })).toBe(false);
    expect(evaluateThresholdRange(101, { min: 0, max: 100 })).toBe(false);
  });

  it('fails NaN whenever a bound is set', () => {
    expect(evaluateThresholdRange(Number.NaN, { min: 0 })).toBe(false);
    expect(evaluateThresholdRange(Number.NaN, { max: 0 })).toBe(false);
    expect(evaluateThresholdRange(Number.NaN, {})).toBe(true);
  });

  it('treats null bounds (from JSON) as unset', () => {
    expect(evaluateThresholdRange(5, { min: null, max: 10 })).toBe(true);
  });
});
