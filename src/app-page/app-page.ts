// The driver's page for development, at /app on the GraphQL listener (mounted through
// GraphQLServerOptions.extraRoutes, never when NODE_ENV=production). It is a real client of the
// gateway: plain ES modules in the browser, no bundler, no CDN. The browser loads
//   /app                                 index.html with an import map
//   /app/app.js, /app/app.css            the page (src/app-page/public/)
//   /app/client/graphql.js               the generated typed documents, compiled (dist/src/client/generated/)
//   /app/client/transport.js             the typed request/subscribe helpers, compiled (dist/src/client/)
//   /app/vendor/graphql-ws/client.js     graphql-ws's browser ESM client (node_modules/graphql-ws/dist/)
// and calls /graphql (HTTP and graphql-ws) on the same origin. Two development helpers:
//   GET  /app/api/catalogue   the embedded simulator's EVSEs with their live status (proxied)
//   POST /app/api/dev-token   signs a short-lived token for a typed driver id and EvcoID with the
//                             development secret; answered only to loopback callers whose Host
//                             (and Origin, if sent) is localhost, 127.0.0.1 or [::1].
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { SignJWT } from "jose";
import { readBody, sendText } from "../lib/http.js";
import type { Logger } from "../logger.js";

export const APP_PATH = "/app";

export interface DevTokenSigning {
  /** The HS256 secret the gateway verifies tokens with (Config.auth.secret in "secret" mode). */
  secret: string;
  issuer?: string | undefined;
  audience?: string | undefined;
  /** Lifetime of a signed token (jose syntax). Default "1h". */
  ttl?: string;
}

export interface AppPageOptions {
  /** Config.env. The page refuses to be built for "production". */
  env: "development" | "test" | "production";
  /**
   * The simulator's catalogue, e.g. http://127.0.0.1:4002/simulator/catalogue, proxied at
   * /app/api/catalogue. Null (a real Hubject): the driver types an EvseID.
   */
  catalogueUrl: string | null;
  /**
   * Development tokens at /app/api/dev-token. Null (the gateway's own wiring: unless the built-in
   * development secret and simulator are in use): the driver pastes a token.
   */
  devTokens: DevTokenSigning | null;
  /** The GraphQL path on this origin (HTTP and graphql-ws). Default "/graphql". */
  graphqlPath?: string;
  /** The project root holding dist/ and node_modules/. Default: found from this file. */
  root?: string;
  logger?: Logger;
}

export type AppPageHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
};

/** A driver id (JWT sub) the dev-token endpoint accepts. */
const DRIVER_ID = /^[A-Za-z0-9._@-]{1,64}$/;
/** Loose EvcoID shape for the dev form; the gateway checks the OICP format on startCharging. */
const EVCO_ID = /^[A-Za-z0-9*-]{3,40}$/;

export function createAppPage(options: AppPageOptions): AppPageHandler {
  if (options.env === "production") throw new Error("createAppPage: the driver's page is for development only (NODE_ENV=production)");
  const root = options.root ?? findProjectRoot(dirname(fileURLToPath(import.meta.url)));
  const graphqlPath = options.graphqlPath ?? "/graphql";
  const logger = options.logger;

  const publicDir = join(root, "src", "app-page", "public");
  const clientDir = join(root, "dist", "src", "client");
  const graphqlWsDir = join(root, "node_modules", "graphql-ws", "dist");

  const importMap = JSON.stringify(
    {
      imports: {
        "graphql-ws": `${APP_PATH}/vendor/graphql-ws/client.js`,
        "@emp/client": `${APP_PATH}/client/graphql.js`,
        "@emp/client/transport": `${APP_PATH}/client/transport.js`,
      },
    },
    null,
    2,
  );
  // The inline import map is the only inline script: the CSP allows exactly it, by hash.
  const importMapHash = createHash("sha256").update(importMap).digest("base64");
  const csp = [
    "default-src 'self'",
    `script-src 'self' 'sha256-${importMapHash}'`,
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self' ws: wss:",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
  ].join("; ");
  const pageConfig = JSON.stringify({
    graphqlPath,
    catalogue: options.catalogueUrl !== null,
    devTokens: options.devTokens !== null,
  });

  const statics: Record<string, string> = {
    "/app.js": join(publicDir, "app.js"),
    "/app.css": join(publicDir, "app.css"),
    "/client/graphql.js": join(clientDir, "generated", "graphql.js"),
    "/client/transport.js": join(clientDir, "transport.js"),
  };

  async function handle(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    const method = req.method ?? "GET";
    if (path === "" || path === "/" || path === "/index.html") {
      if (method !== "GET" && method !== "HEAD") return sendStatus(res, 405, "Method not allowed");
      const template = readFileSync(join(publicDir, "index.html"), "utf8");
      const html = template
        .replace("<!--IMPORT_MAP-->", () => `<script type="importmap">${importMap}</script>`)
        .replace("<!--PAGE_CONFIG-->", () => `<script type="application/json" id="page-config">${escapeForScript(pageConfig)}</script>`);
      return send(res, 200, CONTENT_TYPES[".html"]!, html, { "content-security-policy": csp });
    }
    if (path === "/api/catalogue") {
      if (method !== "GET") return sendStatus(res, 405, "Method not allowed");
      if (!options.catalogueUrl) return sendJson(res, 404, { error: "No catalogue: the gateway talks to a real Hubject. Type an EvseID." });
      try {
        const upstream = await fetch(options.catalogueUrl, { signal: AbortSignal.timeout(5_000) });
        if (!upstream.ok) throw new Error(`HTTP ${upstream.status}`);
        return sendJson(res, 200, await upstream.json());
      } catch (error) {
        logger?.warn({ err: error }, "app page: could not read the simulator's catalogue");
        return sendJson(res, 502, { error: "The simulator's catalogue is not reachable." });
      }
    }
    if (path === "/api/dev-token") {
      if (method !== "POST") return sendStatus(res, 405, "Method not allowed");
      if (!options.devTokens)
        return sendJson(res, 404, { error: "Development tokens are off here: paste a token from your identity provider." });
      // DNS rebinding: a page on a foreign name that resolves to 127.0.0.1 reaches this loopback
      // socket as same-origin, but its Host (and Origin) still carry the foreign name.
      if (!isLoopback(req.socket.remoteAddress) || !isLocalHost(req.headers.host))
        return sendJson(res, 403, { error: "Development tokens are signed for this machine only." });
      // A cross-site page cannot read the answer (no CORS), but it must not even get one signed.
      // The Host is local, so an Origin equal to it is local too.
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${req.headers.host}` && origin !== `https://${req.headers.host}`) {
        return sendJson(res, 403, { error: "Cross-origin request refused." });
      }
      if (!(req.headers["content-type"] ?? "").includes("application/json")) return sendJson(res, 415, { error: "Send JSON." });
      let body: unknown;
      try {
        body = JSON.parse(await readBody(req, 4_096));
      } catch {
        return sendJson(res, 400, { error: "Send a JSON object with driverId and evcoId." });
      }
      const { driverId, evcoId } = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
      if (typeof driverId !== "string" || !DRIVER_ID.test(driverId)) {
        return sendJson(res, 400, { error: "Driver id: 1 to 64 letters, digits or . _ @ -" });
      }
      if (typeof evcoId !== "string" || !EVCO_ID.test(evcoId)) return sendJson(res, 400, { error: "EvcoID: e.g. DE-GQL-C00000001-7" });
      const signing = options.devTokens;
      let jwt = new SignJWT({ evco_ids: [evcoId] })
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(driverId)
        .setIssuedAt()
        .setExpirationTime(signing.ttl ?? "1h");
      if (signing.issuer) jwt = jwt.setIssuer(signing.issuer);
      if (signing.audience) jwt = jwt.setAudience(signing.audience);
      const token = await jwt.sign(new TextEncoder().encode(signing.secret));
      logger?.info({ driverId }, "app page: signed a development token");
      return sendJson(res, 200, { token });
    }
    if (method !== "GET" && method !== "HEAD") return sendStatus(res, 405, "Method not allowed");
    const vendor = /^\/vendor\/graphql-ws\/([A-Za-z0-9_-]+\.js)$/.exec(path);
    const file = vendor ? inside(graphqlWsDir, vendor[1]!) : statics[path];
    if (!file) return sendStatus(res, 404, "Not found");
    if (!existsSync(file)) {
      const hint = file.startsWith(clientDir) ? " (run `npm run build`: the page loads the compiled client from dist/)" : "";
      return sendStatus(res, 404, `Not found${hint}`);
    }
    const type = CONTENT_TYPES[file.slice(file.lastIndexOf("."))] ?? "application/octet-stream";
    return send(res, 200, type, readFileSync(file, "utf8"));
  }

  return (req, res) => {
    const url = new URL(req.url ?? "/", "http://gateway.invalid");
    if (url.pathname !== APP_PATH && !url.pathname.startsWith(`${APP_PATH}/`)) return false;
    handle(req, res, url.pathname.slice(APP_PATH.length)).catch((error: unknown) => {
      logger?.error({ err: error }, "app page: request failed");
      if (!res.headersSent) sendStatus(res, 500, "Internal error");
      else res.end();
    });
    return true;
  };
}

function findProjectRoot(start: string): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) throw new Error(`createAppPage: no package.json above ${start}; pass options.root`);
  }
}

/** `name` inside `dir`, or undefined if it would leave it. */
function inside(dir: string, name: string): string | undefined {
  const file = resolve(dir, name);
  return file.startsWith(dir + sep) ? file : undefined;
}

function isLoopback(address: string | undefined): boolean {
  return address === "127.0.0.1" || address === "::1" || address === "::ffff:127.0.0.1";
}

/** A Host header naming this machine: localhost, 127.0.0.1 or [::1], with any port. */
function isLocalHost(host: string | undefined): boolean {
  return host !== undefined && /^(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i.test(host);
}

/** JSON inside <script>: no "</script>" or "<!--" can end it early. */
function escapeForScript(json: string): string {
  return json.replace(/</g, "\\u003c");
}

const SECURITY_HEADERS = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

function send(res: ServerResponse, status: number, contentType: string, body: string, headers: Record<string, string> = {}) {
  sendText(res, status, body, { ...SECURITY_HEADERS, "content-type": contentType, ...headers });
}

function sendJson(res: ServerResponse, status: number, body: unknown) {
  send(res, status, "application/json; charset=utf-8", JSON.stringify(body));
}

function sendStatus(res: ServerResponse, status: number, text: string) {
  send(res, status, "text/plain; charset=utf-8", text);
}
