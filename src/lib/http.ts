// Small node:http helpers shared by every listener of the gateway (GraphQL, OICP, the app page)
// and by the simulator: read a bounded body, answer with a whole body and its length.
import type { IncomingMessage, ServerResponse } from "node:http";

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
  }
}

/** Reads a request body up to `limit` bytes; rejects (and stops reading) beyond it. */
export async function readBody(req: IncomingMessage, limit: number): Promise<string> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLargeError(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw new BodyTooLargeError(limit);
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * A whole body at once, with its Content-Length: no chunked encoding, one write. Quietly does
 * nothing when the client has gone (a delayed answer nobody waits for any more).
 */
export function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string | number> = {}): void {
  if (res.writableEnded || res.destroyed) return;
  res.writeHead(status, { ...headers, "content-length": Buffer.byteLength(body) });
  res.end(res.req?.method === "HEAD" ? undefined : body);
}

/** JSON with the given content type (OICP answers say `application/json;charset=UTF-8`). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string | number> = {},
  contentType = "application/json;charset=UTF-8",
): void {
  sendText(res, status, JSON.stringify(body), { "content-type": contentType, ...headers });
}
