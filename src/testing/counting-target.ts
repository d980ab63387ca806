/** Test helpers for the load tester: a local HTTP target that counts what it gets (tests only). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Target {
  url: string;
  /** Requests received so far. */
  count(): number;
  /** The requests received (method, url, headers, body), at most the first 1000. */
  requests: { method: string; url: string; headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

/** A loopback HTTP server answering every request with `status` (after `delayMs`). */
export async function startTarget(o: { status?: number; delayMs?: number } = {}): Promise<Target> {
  let n = 0;
  const requests: Target['requests'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      n++;
      if (requests.length < 1000)
        requests.push({
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
      const answer = () => {
        res.writeHead(o.status ?? 200, { 'Content-Type': 'text/plain' });
        res.end('ok');
      };
      if (o.delayMs) setTimeout(answer, o.delayMs);
      else answer();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    count: () => n,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
