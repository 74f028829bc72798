// A tiny stand-in for Hubject on a real socket (port 0): records every request and answers
// whatever the test scripts. Not the project's simulator: this one knows no OICP rules.
import http from "node:http";
import https from "node:https";
import type { AddressInfo, Socket } from "node:net";
import type { TLSSocket } from "node:tls";

export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  rawBody: string;
  /** Parsed JSON body, or undefined if it was not JSON. */
  body: unknown;
  /** Subject CN of the client certificate (TLS servers only). */
  clientCertCN: string | null;
  /** Date.now() when the whole request had been read: gaps between requests show the backoff. */
  receivedAt: number;
}

export type Reply =
  | { status?: number; json?: unknown; text?: string; headers?: Record<string, string>; delayMs?: number }
  /** Destroy the socket after the whole request was read: the client sees ECONNRESET / socket hang up. */
  | { destroy: true }
  /** Never answer. */
  | { hang: true };

export type Responder = (request: RecordedRequest, index: number) => Reply | Promise<Reply>;

export class FakeHubject {
  readonly requests: RecordedRequest[] = [];
  /** TCP (or TLS) connections accepted: keep-alive reuse shows as fewer connections than requests. */
  connections = 0;
  responder: Responder = () => ({ status: 500, text: "no responder set" });

  private constructor(private readonly server: http.Server | https.Server) {}

  static async start(tlsOptions?: https.ServerOptions): Promise<FakeHubject> {
    let fake: FakeHubject | undefined;
    const handler: http.RequestListener = (req, res) => void fake!.handle(req, res);
    const server = tlsOptions ? https.createServer(tlsOptions, handler) : http.createServer(handler);
    fake = new FakeHubject(server);
    server.on(tlsOptions ? "secureConnection" : "connection", () => {
      fake!.connections += 1;
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get baseUrl(): string {
    const scheme = this.server instanceof https.Server ? "https" : "http";
    return `${scheme}://127.0.0.1:${this.port}/api/oicp`;
  }

  /** Answer every request the same way. */
  answer(reply: Reply): void {
    this.responder = () => reply;
  }

  /** Answer the next requests with these replies in order; the last one repeats. */
  script(...replies: [Reply, ...Reply[]]): void {
    const offset = this.requests.length;
    this.responder = (_req, index) => replies[Math.min(index - offset, replies.length - 1)]!;
  }

  /** Milliseconds between consecutive requests. */
  gaps(): number[] {
    return this.requests.slice(1).map((r, i) => r.receivedAt - this.requests[i]!.receivedAt);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString("utf8");
    const url = new URL(req.url ?? "/", "http://fake");
    let body: unknown;
    try {
      body = JSON.parse(rawBody);
    } catch {
      body = undefined;
    }
    const recorded: RecordedRequest = {
      method: req.method ?? "",
      path: url.pathname,
      query: url.searchParams,
      headers: req.headers,
      rawBody,
      body,
      clientCertCN: clientCertCN(req.socket),
      receivedAt: Date.now(),
    };
    const index = this.requests.push(recorded) - 1;
    const reply = await this.responder(recorded, index);

    if ("destroy" in reply) {
      req.socket.destroy();
      return;
    }
    if ("hang" in reply) return;
    if (reply.delayMs) await new Promise((resolve) => setTimeout(resolve, reply.delayMs));
    const payload = reply.text ?? (reply.json === undefined ? "" : JSON.stringify(reply.json));
    res.writeHead(reply.status ?? 200, {
      "content-type": reply.text !== undefined ? "text/html" : "application/json;charset=UTF-8",
      ...reply.headers,
    });
    res.end(payload);
  }
}

/** A port nothing listens on (bound, read, then released). */
export async function closedPort(): Promise<number> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function clientCertCN(socket: Socket): string | null {
  const tls = socket as Partial<TLSSocket>;
  if (typeof tls.getPeerCertificate !== "function") return null;
  const cn = tls.getPeerCertificate().subject?.CN;
  return typeof cn === "string" ? cn : null;
}
