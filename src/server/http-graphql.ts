// GraphQL over HTTP on /graphql: read the body within its limit, let the persisted-query
// allow-list see the operation as sent, then hand it to Apollo Server with the caller's context.
import type { IncomingMessage, ServerResponse } from "node:http";
import { type ApolloServer, type BaseContext, HeaderMap } from "@apollo/server";
import { BodyTooLargeError, readBody, sendText } from "../lib/http.js";
import { isRecord } from "../lib/json.js";
import { type AuthenticatedDriver, type Authenticator, bearerToken } from "./auth.js";
import type { GatewayContext } from "./context.js";
import { type PersistedQueryDecision, type PersistedQueryGuard, withoutPersistedQuery } from "./persisted-queries.js";

export interface HttpGraphQLOptions {
  apollo: ApolloServer<GatewayContext & BaseContext>;
  authenticator: Authenticator;
  contextFor: (driver: AuthenticatedDriver | null, transport: "http") => GatewayContext;
  persisted: PersistedQueryGuard;
  maxBodyBytes: number;
}

export function httpGraphQLHandler(options: HttpGraphQLOptions): (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> {
  const { apollo, authenticator, persisted, maxBodyBytes } = options;
  return async (req, res, url) => {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    let body: unknown;
    if (req.method === "POST") {
      let text: string;
      try {
        text = await readBody(req, maxBodyBytes);
      } catch (error) {
        if (error instanceof BodyTooLargeError)
          return sendError(res, 413, `Request body too large (at most ${maxBodyBytes} bytes).`, "PAYLOAD_TOO_LARGE");
        throw error;
      }
      if (text.length > 0 && (headers.get("content-type") ?? "").includes("application/json")) {
        try {
          body = JSON.parse(text);
        } catch {
          return sendError(res, 400, "The request body is not valid JSON.", "BAD_REQUEST");
        }
      } else {
        body = text;
      }
    }

    // The allow-list looks at the operation as sent, before Apollo parses anything.
    let search = url.search;
    if (persisted.mode === "allow-list") {
      let decision: PersistedQueryDecision = { kind: "pass" };
      if (req.method === "POST" && isRecord(body)) {
        decision = persisted.decide(body.query, body.extensions);
        if (decision.kind === "run") {
          const { extensions: sent, ...rest } = body;
          const extensions = withoutPersistedQuery(sent);
          body = { ...rest, query: decision.query, ...(extensions ? { extensions } : {}) };
        }
      } else if (req.method === "GET") {
        const params = new URLSearchParams(url.search);
        const extensions = parseJsonParam(params.get("extensions"));
        decision = persisted.decide(params.get("query") ?? undefined, extensions);
        if (decision.kind === "run") {
          params.set("query", decision.query);
          const rest = withoutPersistedQuery(extensions);
          if (rest) params.set("extensions", JSON.stringify(rest));
          else params.delete("extensions");
          search = `?${params.toString()}`;
        }
      }
      if (decision.kind === "refuse") return sendError(res, 400, decision.error.message, "PERSISTED_QUERY_NOT_ALLOWED");
    }

    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? "GET").toUpperCase(), headers, search, body },
      context: async () => {
        const token = bearerToken(req.headers.authorization);
        // No token: public fields (introspection) work; every driver field asks for one.
        return options.contextFor(token ? await authenticator.authenticate(token) : null, "http");
      },
    });
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of result.headers) responseHeaders[name] = value;
    if (result.body.kind === "complete") return sendText(res, result.status ?? 200, result.body.string, responseHeaders);
    res.writeHead(result.status ?? 200, responseHeaders);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  };
}

/** A request-level failure in GraphQL's error shape. */
export function sendError(res: ServerResponse, status: number, message: string, code: string): void {
  sendText(res, status, JSON.stringify({ errors: [{ message, extensions: { code } }] }), { "content-type": "application/json" });
}

function parseJsonParam(value: string | null): unknown {
  if (value === null) return undefined;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}
