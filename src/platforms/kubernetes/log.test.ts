import { describe, expect, it } from 'vitest';
import { createLogger, discardLogger, isLogLevel, type LoggerOptions, redactString } from './log.js';

const AT = new Date('2026-11-22T10:00:00.123Z');

function capture(opts: LoggerOptions = {}) {
  const lines: string[] = [];
  const log = createLogger({ now: () => AT, write: (l) => lines.push(l), ...opts });
  return { log, lines, json: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('writes Argo-style JSON lines: time, level, msg, then the fields', () => {
    const { log, lines } = capture({ format: 'json' });
    log.info('Reconciliation completed', { rollout: 'guestbook', namespace: 'default', timeMs: 12.5 });
    expect(lines).toEqual([
      '{"time":"2026-11-22T10:00:00.123Z","level":"info","msg":"Reconciliation completed","rollout":"guestbook","namespace":"default","timeMs":12.5}',
    ]);
  });

  it.each([
    ['debug', ['debug', 'info', 'warning', 'error']],
    ['info', ['info', 'warning', 'error']],
    ['warn', ['warning', 'error']],
    ['error', ['error']],
  ] as const)('at level %s writes %j', (level, want) => {
    const { log, json } = capture({ level });
    log.debug('d');
    log.info('i');
    log.warn('w');
    log.error('e');
    expect(json().map((l) => l.level)).toEqual(want);
    expect(log.enabled('debug')).toBe(level === 'debug');
    expect(log.enabled('error')).toBe(true);
  });

  it('writes text lines: TIME LEVEL msg k=v, quoting where needed', () => {
    const { log, lines } = capture({ format: 'text', level: 'debug' });
    log.warn('Rollout aborted', {
      rollout: 'guestbook',
      reason: 'Metric "success-rate" failed',
      empty: '',
      count: 3,
      ok: false,
      weights: { stable: 80, canary: 20 },
      skipped: undefined,
    });
    log.debug('two\nlines');
    expect(lines).toEqual([
      '2026-11-22T10:00:00.123Z WARN  Rollout aborted rollout=guestbook reason="Metric \\"success-rate\\" failed" empty="" count=3 ok=false weights="{\\"stable\\":80,\\"canary\\":20}"',
      '2026-11-22T10:00:00.123Z DEBUG two\\nlines',
    ]);
  });

  it('child loggers add their fields; a line’s own fields win', () => {
    const { log, json } = capture();
    const rollout = log.child({ rollout: 'guestbook', namespace: 'default' });
    const step = rollout.child({ step: 2 });
    step.info('step', { namespace: 'other' });
    rollout.info('plain');
    log.info('root');
    expect(json()).toEqual([
      {
        time: AT.toISOString(),
        level: 'info',
        msg: 'step',
        rollout: 'guestbook',
        namespace: 'other',
        step: 2,
      },
      { time: AT.toISOString(), level: 'info', msg: 'plain', rollout: 'guestbook', namespace: 'default' },
      { time: AT.toISOString(), level: 'info', msg: 'root' },
    ]);
  });

  it('keeps the line’s own keys: a field named time, level or msg is written as fields.<name>', () => {
    const { log, json } = capture();
    log.error('x', { level: 'mine', msg: 'm' });
    expect(json()[0]).toEqual({
      time: AT.toISOString(),
      level: 'error',
      msg: 'x',
      'fields.level': 'mine',
      'fields.msg': 'm',
    });
  });

  it('writes errors as their message and dates as RFC 3339', () => {
    const { log, json } = capture();
    log.error('failed', { error: new Error('conflict'), at: new Date(0) });
    expect(json()[0]).toMatchObject({ error: 'conflict', at: '1970-01-01T00:00:00.000Z' });
  });

  it('redacts secret-looking fields at any depth, and credentials in URLs', () => {
    const { log, json, lines } = capture();
    const self: Record<string, unknown> = { name: 'loop' };
    self.self = self;
    log.info('calling https://admin:hunter2@prom.example:9090/api?query=up&api_key=abc123', {
      password: 'hunter2',
      Authorization: 'Bearer abc.def',
      apiKey: 'k-123',
      headers: [
        { name: 'X-Auth-Token', value: 'plain' },
        { name: 'Accept', value: 'application/json' },
      ],
      provider: { web: { url: 'http://bob:pw@web.example/stats?token=t0k&window=30', clientSecret: 's3' } },
      error: new Error('GET https://u:p@api.example/x: 401'),
      self,
      emptySecret: '',
    });
    const line = json()[0];
    expect(line).toEqual({
      time: AT.toISOString(),
      level: 'info',
      msg: 'calling https://*****@prom.example:9090/api?query=up&api_key=*****',
      password: '*****',
      Authorization: '*****',
      apiKey: '*****',
      headers: [
        { name: 'X-Auth-Token', value: '*****' },
        { name: 'Accept', value: 'application/json' },
      ],
      provider: {
        web: { url: 'http://*****@web.example/stats?token=*****&window=30', clientSecret: '*****' },
      },
      error: 'GET https://*****@api.example/x: 401',
      self: { name: 'loop', self: '[…]' },
      emptySecret: '',
    });
    for (const secret of ['plain', 'hunter2', 'abc123', 'abc.def', 'k-123', 'pw@', 't0k', 's3"', 'u:p@'])
      expect(lines[0]).not.toContain(secret);
  });

  it('discardLogger writes nothing', () => {
    expect(discardLogger.child({ a: 1 })).toBe(discardLogger);
    expect(discardLogger.enabled('error')).toBe(false);
    discardLogger.error('nothing');
  });

  it('isLogLevel', () => {
    expect(['debug', 'info', 'warn', 'error', 'warning', 'trace', 'toString'].map(isLogLevel)).toEqual([
      true,
      true,
      true,
      true,
      false,
      false,
      false,
    ]);
  });
});

describe('redactString', () => {
  it.each([
    ['no URL here', 'no URL here'],
    ['https://host/path', 'https://host/path'],
    ['https://user:pass@host', 'https://*****@host'],
    ['https://token@host/x', 'https://*****@host/x'],
    ['see postgres://app:s3cr%2Ft@db:5432/app now', 'see postgres://*****@db:5432/app now'],
    ['https://user:pa/ss@host/x', 'https://*****@host/x'], // unencoded '/' in the password
    ['https://registry.example/@types/node', 'https://registry.example/@types/node'],
    ['https://registry.example:8080/@scope/pkg', 'https://registry.example:8080/@scope/pkg'],
    ['http://h/q?access_token=abc&page=2', 'http://h/q?access_token=*****&page=2'],
    ['http://h/q?page=2&password=', 'http://h/q?page=2&password='],
    ['"http://a:b@h1" and http://c:d@h2', '"http://*****@h1" and http://*****@h2'],
  ])('%s', (input, want) => {
    expect(redactString(input)).toBe(want);
  });
});
