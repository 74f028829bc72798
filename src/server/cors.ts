// CORS for /graphql: browser apps served from other origins (a Vite dev server on :5173, the EMP's
// web app) may call the gateway when their Origin is on the allow-list (CORS_ORIGINS; in
// development, when unset, any localhost origin). The same list decides the websocket upgrade
// (a foreign Origin gets 403). Requests without an Origin (native apps, servers) are not browsers
// and pass; CORS was never their protection, the token is.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Logger } from "../logger.js";

export interface CorsPolicy {
  /** True for an allowed Origin header value; a request without one is not asked. */
  allows(origin: string): boolean;
  /**
   * Adds the CORS headers for an allowed Origin, answers a preflight (OPTIONS) itself. Returns
   * true when the request was answered here (a preflight, or one refused).
   */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
}

/** localhost, 127.0.0.1 and [::1] on any port, http or https. */
const LOCALHOST = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/i;
const ALLOWED_HEADERS = [
  "authorization",
  "content-type",
  "apollo-require-preflight",
  "x-apollo-operation-name",
  "apollo-query-plan-experimental",
  "x-request-id",
  "traceparent",
  "tracestate",
].join(", ");
const EXPOSED_HEADERS = ["retry-after", "x-request-id"].join(", ");
/** Browsers cap this (Chromium at 2 h); a preflight per origin and request shape every 2 h at most. */
const MAX_AGE_SECONDS = 7_200;
/** Refused origins are logged once each; this many are remembered. */
const LOGGED_ORIGINS_MAX = 1_000;

export function createCorsPolicy(options: { origins: readonly string[]; allowLocalhost: boolean; logger: Logger }): CorsPolicy {
  const allowed = new Set(options.origins.map((o) => o.toLowerCase()));
  const logged = new Set<string>();
  const allows = (origin: string) => allowed.has(origin.toLowerCase()) || (options.allowLocalhost && LOCALHOST.test(origin));
  const refused = (origin: string) => {
    if (logged.has(origin) || logged.size >= LOGGED_ORIGINS_MAX) return;
    logged.add(origin);
    options.logger.warn({ origin }, "request from an Origin not in CORS_ORIGINS: no CORS headers, websockets refused");
  };
  return {
    allows(origin) {
      const ok = allows(origin);
      if (!ok) refused(origin);
      return ok;
    },
    handle(req, res) {
      const origin = req.headers.origin;
      const preflight = req.method === "OPTIONS";
      if (origin === undefined) {
        if (!preflight) return false;
        res.writeHead(204, { allow: "GET, POST, OPTIONS" }).end();
        return true;
      }
      res.setHeader("vary", "Origin");
      if (!allows(origin)) {
        refused(origin);
        if (!preflight) return false; // the browser keeps the answer from the page
        res.writeHead(403, { "content-type": "text/plain" }).end("Origin not allowed");
        return true;
      }
      res.setHeader("access-control-allow-origin", origin);
      res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
      if (!preflight) return false;
      res.writeHead(204, {
        "access-control-allow-methods": "GET, POST, OPTIONS",
        "access-control-allow-headers": ALLOWED_HEADERS,
        "access-control-max-age": String(MAX_AGE_SECONDS),
      });
      res.end();
      return true;
    },
  };
}

/** A CORS_ORIGINS entry: an origin (scheme, host, optional port), nothing more. */
export function isOrigin(value: string): boolean {
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === "http:" || url.protocol === "https:") && url.origin === value.replace(/\/$/, "").toLowerCase();
}
