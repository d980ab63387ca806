import { describe, expect, it } from 'vitest';
import { parseHey, shellWords } from './hey.js';

describe('shellWords', () => {
  it.each([
    ['hey -z 1m http://a/', ['hey', '-z', '1m', 'http://a/']],
    [
      `hey -H 'Cookie: canary=always' -H "X-A: b c" x`,
      ['hey', '-H', 'Cookie: canary=always', '-H', 'X-A: b c', 'x'],
    ],
    ["a\\ b \"q\\\"x\" 'it''s'", ['a b', 'q"x', 'its']],
    ['  spaced\targs  ', ['spaced', 'args']],
    ['hey http://a/?x=1&y=2', undefined],
    ['hey http://a/ | tee out', undefined],
    ['hey http://a/; rm -rf /', undefined],
    ['hey $URL', undefined],
    ['hey "$URL"', undefined],
    ['hey `cat url`', undefined],
    ['hey http://a/ > /tmp/x', undefined],
    ["hey 'unclosed", undefined],
  ])('%s', (cmd, words) => {
    expect(shellWords(cmd)).toEqual(words);
  });
});

describe('parseHey', () => {
  it("reads Flagger's usual line: -q is per worker, so the total rate is q·c", () => {
    expect(parseHey('hey -z 1m -q 10 -c 2 http://podinfo-canary.test:9898/')).toEqual({
      kind: 'load',
      load: {
        url: 'http://podinfo-canary.test:9898/',
        method: 'GET',
        headers: { 'Content-Type': 'text/html', 'User-Agent': 'hey/0.0.1' },
        concurrency: 2,
        rate: 20,
        durationMs: 60_000,
        timeoutMs: 20_000,
        keepAlive: true,
        insecure: true,
      },
    });
  });

  it('method, headers, body, auth, host, timeout, -n, -flag=value, and the defaults', () => {
    const r = parseHey(
      "/usr/local/bin/hey -n 100 -c 5 -m post -H 'Cookie: canary=always' -d '{\"x\":1}' -T application/json -a me:pw -host app.example -t=3 -disable-keepalive http://127.0.0.1:1/",
    );
    expect(r).toEqual({
      kind: 'load',
      load: {
        url: 'http://127.0.0.1:1/',
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Cookie: 'canary=always',
          Authorization: `Basic ${Buffer.from('me:pw').toString('base64')}`,
          Host: 'app.example',
          'User-Agent': 'hey/0.0.1',
        },
        body: '{"x":1}',
        concurrency: 5,
        requests: 100,
        timeoutMs: 3000,
        keepAlive: false,
        insecure: true,
      },
    });
    const d = parseHey('hey -c 1 -n 1 x', () => Buffer.from('file body'));
    expect(d).toMatchObject({ kind: 'load', load: { requests: 1, concurrency: 1 } });
    expect(parseHey('hey -D /b -c 1 -n 1 x', () => Buffer.from('file body'))).toMatchObject({
      load: { body: Buffer.from('file body') },
    });
  });

  it('hey would refuse: the same messages', () => {
    expect(parseHey('hey')).toEqual({ kind: 'invalid', message: 'Usage: hey [options...] <url>' });
    expect(parseHey('hey -n 10 -c 20 http://a/')).toEqual({
      kind: 'invalid',
      message: '-n cannot be less than -c.',
    });
    expect(parseHey('hey -z 1m -c 0 http://a/')).toEqual({
      kind: 'invalid',
      message: '-c cannot be smaller than 1.',
    });
    expect(parseHey('hey -z fast http://a/')).toEqual({
      kind: 'invalid',
      message: 'invalid value "fast" for flag -z',
    });
    expect(parseHey('hey -bogus http://a/')).toEqual({
      kind: 'invalid',
      message: 'flag provided but not defined: -bogus',
    });
    expect(parseHey('hey -H nocolon http://a/')).toMatchObject({ kind: 'invalid' });
  });

  it('other commands and hey lines the built-in generator cannot honour run as commands', () => {
    expect(parseHey('curl -s http://a/')).toEqual({ kind: 'command' });
    expect(parseHey('hey -z 1m http://a/ && curl http://b/')).toEqual({ kind: 'command' });
    expect(parseHey('hey -h2 -z 1m http://a/')).toMatchObject({
      kind: 'command',
      reason: expect.stringMatching(/HTTP\/2/),
    });
    expect(parseHey('hey -o csv -n 1 -c 1 http://a/')).toMatchObject({ kind: 'command' });
    expect(parseHey('heyo -z 1m http://a/')).toEqual({ kind: 'command' });
  });
});
