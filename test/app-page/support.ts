// The driver's page in tests: a headless Chromium (Debian's, /usr/bin/chromium) and, until the
// gateway mounts the page itself in tests, a small front server that does what the gateway's
// listener does with extraRoutes: the page handler first, everything else (HTTP and the
// graphql-ws upgrade) passed through untouched to the gateway's listener.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import net, { type AddressInfo, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium } from "playwright-core";

export const CHROMIUM_PATH = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** A fresh profile each time (playwright takes it as userDataDir, not as --user-data-dir). */
export async function launchChromium(): Promise<{ context: BrowserContext; close(): Promise<void> }> {
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} is missing: install Debian's chromium (apt-get install -y chromium); .ci/run does it`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), "emp-chromium-"));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    args: CHROMIUM_ARGS,
    headless: true,
    viewport: { width: 1280, height: 900 },
    locale: "en-GB",
    timezoneId: "Europe/Berlin",
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

export interface FrontServer {
  /** http://127.0.0.1:PORT (the page is at /app, GraphQL at /graphql). */
  url: string;
  close(): Promise<void>;
}

/** Serves `routes` like GraphQLServerOptions.extraRoutes and passes the rest to the gateway at graphqlUrl. */
export async function frontServer(
  graphqlUrl: string,
  routes: (req: IncomingMessage, res: ServerResponse) => boolean,
): Promise<FrontServer> {
  const target = new URL(graphqlUrl);
  const host = target.hostname;
  const port = Number(target.port);
  const sockets = new Set<Socket>();

  const server = http.createServer((req, res) => {
    if (routes(req, res)) return;
    const upstream = http.request({ host, port, method: req.method, path: req.url, headers: req.headers, agent: false }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on("error", () => {
      if (!res.headersSent) res.writeHead(502);
      res.end();
    });
    req.pipe(upstream);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  // graphql-ws: replay the upgrade request to the gateway and splice the two sockets.
  server.on("upgrade", (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const upstream = net.connect(port, host, () => {
      const lines = [`${req.method} ${req.url} HTTP/${req.httpVersion}`];
      for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
      upstream.write(`${lines.join("\r\n")}\r\n\r\n`);
      if (head.length > 0) upstream.write(head);
      socket.pipe(upstream).pipe(socket);
    });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.on("error", () => socket.destroy());
    socket.on("error", () => upstream.destroy());
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port: ownPort } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${ownPort}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
