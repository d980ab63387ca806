/**
 * The small HTTP pieces Vireo's own JSON servers share (the local runtime's API, the dashboard): an
 * error with a status code, and a bounded JSON body reader.
 */
import type http from 'node:http';

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request body as JSON; `{}` when empty. Bodies over `maxBytes` are refused (413) without being
 * read further; other JSON than an object is refused (400) when `objectOnly`.
 */
export function readJsonBody(
  req: http.IncomingMessage,
  maxBytes: number,
  objectOnly = false,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > maxBytes) {
        reject(new HttpError(413, `body larger than ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') return resolve({});
      try {
        const v = JSON.parse(text) as unknown;
        if (objectOnly && (typeof v !== 'object' || v === null || Array.isArray(v)))
          return reject(new HttpError(400, 'body: expected a JSON object'));
        resolve(v as Record<string, unknown>);
      } catch {
        reject(new HttpError(400, 'body: expected JSON'));
      }
    });
    req.on('error', reject);
  });
}
