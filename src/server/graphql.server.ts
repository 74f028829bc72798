// One HTTP server for the apps: GraphQL over HTTP (Apollo Server 5, mounted on node:http) and
// graphql-ws on the same path /graphql. Both transports get the same protection, in this order:
// size (HTTP body / websocket message), persisted-query allow-list (persisted-queries.ts), token
// limit and validation with the document limits (armor.ts), and one error masking (error-masking.ts).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ApolloServer, type ApolloServerPlugin, type BaseContext, HeaderMap } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import type { GraphQLError, GraphQLSchema } from "graphql";
import { CloseCode } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import { DEFAULTS } from "../config/defaults.js";
import { BodyTooLargeError, readBody, sendText } from "../lib/http.js";
import { isRecord } from "../lib/json.js";
import type { Logger } from "../logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { OpsHandler } from "../observability/ops-endpoints.js";
import { requestIdFrom, withRequestId } from "../observability/request-context.js";
import { createDocumentLimits, type GraphQLLimits } from "./armor.js";
import { type AuthenticatedDriver, type Authenticator, bearerToken, msUntilExpiry } from "./auth.js";
import type { GatewayContext } from "./context.js";
import { createErrorFormatter, formatWsError, INTERNAL_ERROR_MESSAGE } from "./error-masking.js";
import { createJitGateway } from "./jit-executor.js";
import {
  createPersistedQueryGuard,
  type PersistedQueriesOption,
  type PersistedQueryDecision,
  withoutPersistedQuery,
} from "./persisted-queries.js";

/** setTimeout holds at most ~24.8 days; a token living longer is re-checked on every event anyway. */
const MAX_TIMER_MS = 2_147_483_647;
export const GRAPHQL_PATH = "/graphql";

export type { GraphQLLimits } from "./armor.js";
export type { PersistedQueriesOption } from "./persisted-queries.js";

export interface GraphQLServerOptions {
  schema: GraphQLSchema;
  authenticator: Authenticator;
  /** Builds the per-request (HTTP) or per-operation (websocket) context for a known caller. */
  contextFor: (driver: AuthenticatedDriver | null, transport: "http" | "ws") => GatewayContext;
  /** Apollo Sandbox on GET /graphql (Accept: text/html). */
  sandbox: boolean;
  /**
   * __schema/__type answered (Config.graphql.introspection), on both transports. When false,
   * "Did you mean …" suggestions are also removed from error messages. Default: `sandbox`.
   */
  introspection?: boolean;
  /** How queries and mutations over HTTP execute (Config.graphql.execution). Default "jit". */
  execution?: "jit" | "graphql-js";
  /** Document limits, the same on HTTP and graphql-ws (Config.graphql.limits). Default: DEFAULTS.graphqlLimits. */
  limits?: GraphQLLimits;
  /**
   * Config.graphql.persistedQueries. An allow-list file is read and checked here: a bad file fails
   * createGraphQLServer with a ConfigError naming GRAPHQL_PERSISTED_QUERIES_FILE. Default: off.
   */
  persistedQueries?: PersistedQueriesOption;
  /** Largest HTTP request body and largest websocket message, in bytes (Config.graphql.maxBodyBytes). */
  maxBodyBytes?: number;
  production: boolean;
  logger: Logger;
  /** /healthz, /readyz, /metrics (observability/ops-endpoints.ts). */
  ops?: OpsHandler;
  metrics?: GatewayMetrics | null;
  /** How long a shutdown waits for in-flight requests (Apollo's drain). Default 10 s. */
  shutdownGraceMs?: number;
  /** More HTTP routes on this listener (e.g. the development app page); return true when handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** More Apollo Server plugins (tracing, federation's subscription callbacks, …). */
  plugins?: ApolloServerPlugin<GatewayContext & BaseContext>[];
  /** Runs each HTTP GraphQL request inside (e.g. a trace context taken from the request headers). */
  aroundRequest?: <T>(req: IncomingMessage, work: () => Promise<T>) => Promise<T>;
}

export interface GraphQLServer {
  server: Server;
  stop(): Promise<void>;
}

type SocketExtra = {
  driver?: AuthenticatedDriver;
  /** Operations running on this socket, for the open-subscriptions gauge. */
  openOperations?: number;
};

export async function createGraphQLServer(options: GraphQLServerOptions): Promise<GraphQLServer> {
  const { schema, authenticator, contextFor, logger } = options;
  const introspection = options.introspection ?? options.sandbox;
  const limits = options.limits ?? DEFAULTS.graphqlLimits;
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULTS.httpMaxBodyBytes;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 1) throw new Error(`maxBodyBytes must be a positive integer, got ${maxBodyBytes}`);

  const documentLimits = createDocumentLimits(schema, limits, { introspection });
  const persisted = createPersistedQueryGuard(options.persistedQueries ?? { mode: "off" }, { introspection, maxTokens: limits.maxTokens });
  const formatError = createErrorFormatter({ production: options.production, hideSuggestions: !introspection, logger });
  if (persisted.mode === "allow-list") {
    // Listed operations that cannot run here are a client/server mismatch: say so at start.
    for (const [hash, query] of persisted.manifest) {
      const checked = documentLimits.checkDocument(query);
      if ("errors" in checked) {
        logger.warn({ hash, error: checked.errors[0]?.message }, "a persisted query does not validate against this schema and its limits");
      }
    }
    logger.info({ operations: persisted.manifest.size }, "GraphQL persisted-query allow-list on");
  }

  const server = createServer();
  // A bigger frame closes the socket with 1009 (message too big) before it is parsed.
  const wsServer = new WebSocketServer({ server, path: GRAPHQL_PATH, maxPayload: maxBodyBytes });
  const wsErrors = (errors: readonly GraphQLError[]) => errors.map((error) => formatWsError(formatError, error));

  const wsHandle = useServer<Record<string, unknown> | undefined, SocketExtra>(
    {
      schema,
      // Sockets closed on an internal failure say "Internal server error", not its message.
      isProd: options.production,
      onConnect: async (ctx) => {
        const raw = ctx.connectionParams?.authorization ?? ctx.connectionParams?.Authorization;
        const token = typeof raw === "string" ? (bearerToken(raw) ?? raw) : undefined;
        try {
          ctx.extra.driver = await authenticator.authenticate(token);
        } catch {
          ctx.extra.socket.close(CloseCode.Unauthorized, "Unauthorized");
          return false;
        }
        // A socket lives for hours; its token does not. Close it when the token expires (4403),
        // so that the app re-authenticates and reconnects.
        const remaining = msUntilExpiry(ctx.extra.driver);
        if (remaining !== null) {
          const socket = ctx.extra.socket;
          const timer = setTimeout(() => socket.close(CloseCode.Forbidden, "Forbidden: token expired"), Math.min(remaining, MAX_TIMER_MS));
          timer.unref();
          socket.once("close", () => clearTimeout(timer));
        }
        // A socket that goes away takes its operations with it (graphql-ws may not complete them).
        ctx.extra.socket.once("close", () => {
          options.metrics?.openSubscriptions.dec(ctx.extra.openOperations ?? 0);
          ctx.extra.openOperations = 0;
        });
        return true;
      },
      // Replaces graphql-ws's own parse + validate: allow-list, token limit, limits, introspection.
      onSubscribe: (_ctx, _id, payload) => {
        const decision = persisted.decide(payload.query, payload.extensions);
        if (decision.kind === "refuse") return [decision.error];
        const checked = documentLimits.checkDocument(decision.kind === "run" ? decision.query : payload.query);
        if ("errors" in checked) return checked.errors;
        return { schema, document: checked.document, operationName: payload.operationName, variableValues: payload.variables };
      },
      context: (ctx) => contextFor(ctx.extra.driver ?? null, "ws"),
      onOperation: (ctx) => {
        ctx.extra.openOperations = (ctx.extra.openOperations ?? 0) + 1;
        options.metrics?.openSubscriptions.inc();
        options.metrics?.graphqlRequests.inc({ transport: "ws", operation_type: "subscription", outcome: "ok" });
        return undefined;
      },
      onComplete: (ctx) => {
        if (!ctx.extra.openOperations) return;
        ctx.extra.openOperations--;
        options.metrics?.openSubscriptions.dec();
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: wsErrors(result.errors) };
      },
      onError: (_ctx, _id, _payload, errors) => {
        options.metrics?.graphqlRequests.inc({ transport: "ws", operation_type: "subscription", outcome: "error" });
        logger.debug({ errors: errors.map((e) => e.message) }, "websocket operation refused or failed");
        return wsErrors(errors);
      },
    },
    wsServer,
  );

  const apollo = new ApolloServer<GatewayContext & BaseContext>({
    ...((options.execution ?? "jit") === "jit" ? { gateway: createJitGateway(schema) } : { schema }),
    introspection,
    csrfPrevention: true,
    // main.ts owns SIGINT/SIGTERM and shuts everything down in order; Apollo's own handlers
    // (installed whenever NODE_ENV is not "test") raced it and left the process hanging.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: !options.production,
    validationRules: documentLimits.validationRules,
    parseOptions: documentLimits.parseOptions,
    // The allow-list resolves persisted queries itself; nobody may register new ones.
    ...(persisted.mode === "allow-list" ? { persistedQueries: false as const } : {}),
    formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: options.shutdownGraceMs ?? 10_000 }),
      // No cache hints are used: skip the plugin's per-field work.
      ApolloServerPluginCacheControlDisabled(),
      options.sandbox ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
      {
        async serverWillStart() {
          return {
            async drainServer() {
              // 1012 "service restart": apps reconnect (to another replica) and resume, see README.
              for (const socket of wsServer.clients) socket.close(1012, "Service restart: reconnect");
              await wsHandle.dispose();
            },
          };
        },
      },
      ...(options.plugins ?? []),
      {
        async requestDidStart() {
          return {
            async willSendResponse({ operation, errors }) {
              options.metrics?.graphqlRequests.inc({
                transport: "http",
                operation_type: operation?.operation ?? "unknown",
                outcome: errors?.length ? "error" : "ok",
              });
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (options.ops?.(req, res)) return;
    if (options.extraRoutes?.(req, res)) return;
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/healthz") return sendText(res, 200, '{"status":"ok"}', { "content-type": "application/json" });
    if (url.pathname !== GRAPHQL_PATH) return sendText(res, 404, "Not found", { "content-type": "text/plain" });
    // One id per request, echoed to the caller and carried into every log line down to the Hubject call.
    const requestId = requestIdFrom(req.headers["x-request-id"]);
    res.setHeader("x-request-id", requestId);
    const around = options.aroundRequest ?? (<T>(_req: IncomingMessage, work: () => Promise<T>) => work());
    void withRequestId(requestId, () => around(req, () => serveGraphQL(req, res, url))).catch((error: unknown) => {
      logger.error({ err: error }, "GraphQL HTTP request failed");
      if (!res.headersSent) sendError(res, 500, INTERNAL_ERROR_MESSAGE, "INTERNAL_SERVER_ERROR");
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
        return contextFor(token ? await authenticator.authenticate(token) : null, "http");
      },
    });
    const responseHeaders: Record<string, string> = {};
    for (const [name, value] of result.headers) responseHeaders[name] = value;
    if (result.body.kind === "complete") return sendText(res, result.status ?? 200, result.body.string, responseHeaders);
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

function sendError(res: ServerResponse, status: number, message: string, code: string) {
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
