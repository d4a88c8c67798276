/**
 * Errors the edge function answers with a status and a one-line reason. Anything else that escapes
 * is a bug on our side and becomes a bare 500: responses never carry stack traces.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. Allow on a 405. */
    readonly headers: Record<string, string> = {},
  ) {
    // One line, whatever the cause said: a reason is for a log line or a client's error message.
    super(message.replace(/\s*\n\s*/g, ' '));
    this.name = 'HttpError';
  }
}

/** A JSON error body `{ "error": reason }` with the given status. */
export function errorResponse(status: number, reason: string, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify({ error: reason }) + '\n', {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
  });
}
