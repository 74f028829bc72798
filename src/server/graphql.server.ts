// One HTTP server for the apps: GraphQL over HTTP (Apollo Server 5, mounted on node:http) and
// graphql-ws on the same path /graphql.
import { ApolloServer, HeaderMap, type BaseContext } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import { unwrapResolverError } from "@apollo/server/errors";
import type { GraphQLFormattedError, GraphQLSchema } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { WebSocketServer } from "ws";
import type { Logger } from "../logger.js";
import { bearerToken, type AuthenticatedDriver, type Authenticator } from "./auth.js";
import type { GatewayContext } from "./context.js";
import { BodyTooLargeError, readBody } from "./http-body.js";

export const GRAPHQL_PATH = "/graphql";
const MAX_BODY_BYTES = 1_048_576;

export interface GraphQLServerOptions {
  schema: GraphQLSchema;
  authenticator: Authenticator;
  /** Builds the per-request (HTTP) or per-operation (websocket) context for a known caller. */
  contextFor: (driver: AuthenticatedDriver | null, transport: "http" | "ws") => GatewayContext;
  sandbox: boolean;
  production: boolean;
  logger: Logger;
}

export interface GraphQLServer {
  server: Server;
  stop(): Promise<void>;
}

type SocketExtra = {
  driver?: AuthenticatedDriver;
};

export async function createGraphQLServer(options: GraphQLServerOptions): Promise<GraphQLServer> {
  const { schema, authenticator, contextFor, logger } = options;
  const server = createServer();
  const wsServer = new WebSocketServer({ server, path: GRAPHQL_PATH });

  const wsHandle = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const token = typeof raw === "string" ? (bearerToken(raw) ?? raw) : undefined;
        try {
          ctx.extra.driver = await authenticator.authenticate(token);
          return true;
        } catch {
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
      },
      context: (ctx) => contextFor(ctx.extra.driver ?? null, "ws"),
      onError: (_ctx, _id, _payload, errors) => {
        logger.debug({ errors: errors.map((e) => e.message) }, "subscription error");
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GatewayContext & BaseContext>({
    schema,
    introspection: options.sandbox,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: !options.production,
    formatError: (formatted, error) => maskError(formatted, error, options.production, logger),
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server }),
      // No cache hints are used: skip the plugin's per-field work.
      ApolloServerPluginCacheControlDisabled(),
      options.sandbox ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
      { async serverWillStart() { return { async drainServer() { await wsHandle.dispose(); } }; } },
    ],
  });
  await apollo.start();

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/healthz") return send(res, 200, { "content-type": "application/json" }, '{"status":"ok"}');
    if (url.pathname !== GRAPHQL_PATH) return send(res, 404, { "content-type": "text/plain" }, "Not found");
    void serveGraphQL(req, res, url).catch((error: unknown) => {
      logger.error({ err: error }, "GraphQL HTTP request failed");
      if (!res.headersSent) send(res, 500, { "content-type": "application/json" }, '{"errors":[{"message":"Internal server error"}]}');
      else res.end();
    });
  });

  async function serveGraphQL(req: IncomingMessage, res: ServerResponse, url: URL) {
    const headers = new HeaderMap();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(", ") : value);
    }
    let body: unknown;
    if (req.method === "POST") {
      let text: string;
      try {
        text = await readBody(req, MAX_BODY_BYTES);
      } catch (error) {
        if (error instanceof BodyTooLargeError) return sendError(res, 413, "Request body too large.");
        throw error;
      }
      if (text.length > 0 && (headers.get("content-type") ?? "").includes("application/json")) {
        try {
          body = JSON.parse(text);
        } catch {
          return sendError(res, 400, "The request body is not valid JSON.");
        }
      } else {
        body = text;
      }
    }
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? "GET").toUpperCase(), headers, search: url.search, body },
      context: async () => {
        const token = bearerToken(req.headers.authorization);
        // No token: public fields (introspection) work; every driver field asks for one.
        return contextFor(token ? await authenticator.authenticate(token) : null, "http");
      },
    });
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of result.headers) responseHeaders[name] = value;
    if (result.body.kind === "complete") return send(res, result.status ?? 200, responseHeaders, result.body.string);
    res.writeHead(result.status ?? 200, responseHeaders);
    for await (const chunk of result.body.asyncIterator) res.write(chunk);
    res.end();
  }

  return {
    server,
    async stop() {
      await apollo.stop();
    },
  };
}

function send(res: ServerResponse, status: number, headers: Record<string, string>, body: string) {
  res.writeHead(status, headers);
  res.end(body);
}

function sendError(res: ServerResponse, status: number, message: string) {
  send(res, status, { "content-type": "application/json" }, JSON.stringify({ errors: [{ message }] }));
}

/** Client errors keep their message; anything unexpected is logged and masked in production. */
function maskError(formatted: GraphQLFormattedError, error: unknown, production: boolean, logger: Logger): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (code !== "INTERNAL_SERVER_ERROR") return formatted;
  logger.error({ err: unwrapResolverError(error), path: formatted.path }, "unexpected error in a GraphQL operation");
  return production ? { message: "Internal server error", path: formatted.path, extensions: { code } } : formatted;
}
