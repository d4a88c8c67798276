/**
 * A bare HTTP/1.1 client over a socket, for what fetch cannot do: send a head that promises more
 * body than follows (a stalled or oversized upload) and read the response the server sends anyway.
 */
import { connect } from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  body: string;
}

/** Sends `head` and `bodyPart`, then waits (without sending more) for the response, or resolves null on close without one. */
export function rawRequest(url: URL, head: string, bodyPart: Uint8Array = new Uint8Array(0)): { response: Promise<RawResponse | null>; destroy(): void } {
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
