/**
 * HTTP/1.1 clients for what fetch does not do: a bare socket that sends a head promising more body
 * than follows (a stalled or oversized upload) and reads the response the server sends anyway; and a
 * keep-alive POST that retries the keep-alive race the way Node's docs say to.
 */
import { type Agent, request as httpRequest } from 'node:http';
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Sends `head` and `bodyPart`, then waits (without sending more) for the response, or resolves null on close without one. */
export function rawRequest(
  url: URL,
  head: string,
  bodyPart: Uint8Array = new Uint8Array(0),
): { response: Promise<RawResponse | null>; destroy(): void } {
  const socket = connect(Number(url.port), url.hostname);
  socket.write(head.replace(/\n/g, '\r\n') + '\r\n');
  if (bodyPart.length) socket.write(bodyPart);
  const response = new Promise<RawResponse | null>((resolve) => {
    let data = '';
    const finish = () => {
      const split = data.indexOf('\r\n\r\n');
      if (split < 0) return false;
      const head = data.slice(0, split);
      const length = Number(/content-length:\s*(\d+)/i.exec(head)?.[1] ?? NaN);
      const body = data.slice(split + 4);
      if (Number.isNaN(length) || body.length < length) return false;
      resolve({ status: Number(head.split(' ')[1]), head, body: body.slice(0, length) });
      socket.destroy();
      return true;
    };
    socket.on('data', (chunk) => {
      data += chunk.toString('latin1');
      finish();
    });
    socket.on('close', () => {
      if (!finish()) resolve(null);
    });
    socket.on('error', () => undefined);
  });
  return { response, destroy: () => socket.destroy() };
}

export interface BytesResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/**
 * POSTs `body` over a keep-alive agent. A request that fails with ECONNRESET on a *reused* socket is
 * sent again once: the server closed that idle connection as the request went out (the keep-alive
 * race every HTTP/1.1 client has; Node's docs prescribe exactly this retry). `retried` counts them.
 */
export function postBytes(
  url: URL,
  body: Uint8Array,
  headers: Record<string, string>,
  agent: Agent,
  retried = { count: 0 },
): Promise<BytesResponse> {
  const attempt = (mayRetry: boolean): Promise<BytesResponse> =>
    new Promise((resolve, reject) => {
      const req = httpRequest(
        url,
        { method: 'POST', agent, headers: { ...headers, 'content-length': String(body.length) } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (mayRetry && req.reusedSocket && error.code === 'ECONNRESET') {
          retried.count++;
          resolve(attempt(false));
        } else reject(error);
      });
      req.end(body);
    });
  return attempt(true);
}
