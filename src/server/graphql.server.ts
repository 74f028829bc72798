// One HTTP server for the apps: GraphQL over HTTP (Apollo Server 5, mounted on node:http) and
// graphql-ws on the same path /graphql. Both transports get the same protection, in this order:
// size (HTTP body / websocket message), persisted-query allow-list (persisted-queries.ts), token
// limit and validation with the document limits (armor.ts), and one error masking (error-masking.ts).

import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { ApolloServerPluginDrainHttpServer } from "@apollo/server/plugin/drainHttpServer";
import { ApolloServerPluginLandingPageLocalDefault } from "@apollo/server/plugin/landingPage/default";
import type { GraphQLSchema } from "graphql";
import { DEFAULTS } from "../config/defaults.js";
import { sendText } from "../lib/http.js";
import type { Logger } from "../logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { OpsHandler } from "../observability/ops-endpoints.js";
import { requestIdFrom, withRequestId } from "../observability/request-context.js";
import { createDocumentLimits, type GraphQLLimits } from "./armor.js";
import type { AuthenticatedDriver, Authenticator } from "./auth.js";
import type { GatewayContext } from "./context.js";
import { createCorsPolicy } from "./cors.js";
import { authenticatedDocumentCaches } from "./document-caches.js";
import { createErrorFormatter, INTERNAL_ERROR_MESSAGE } from "./error-masking.js";
import { httpGraphQLHandler, sendError } from "./http-graphql.js";
import { createJitGateway } from "./jit-executor.js";
import { createPersistedQueryGuard, type PersistedQueriesOption } from "./persisted-queries.js";
import { httpSubscriptionsPlugin } from "./plugins/http-subscriptions.plugin.js";
import { partialAnswersPlugin } from "./plugins/partial-answers.plugin.js";
import { requestMetricsPlugin } from "./plugins/request-metrics.plugin.js";
import { storeUnavailablePlugin } from "./plugins/store-unavailable.plugin.js";
import { websocketDrainPlugin } from "./plugins/websocket-drain.plugin.js";
import { createSubscriptionLimits, type SubscriptionLimits } from "./subscription-limits.js";
import { attachWebSocket } from "./websocket.js";

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
  /** How long a shutdown waits for in-flight requests (Apollo's drain). Default SHUTDOWN_GRACE_MS's. */
  shutdownGraceMs?: number;
  /** More HTTP routes on this listener (e.g. the development app page); return true when handled. */
  extraRoutes?: (req: IncomingMessage, res: ServerResponse) => boolean;
  /** More Apollo Server plugins (tracing, federation's subscription callbacks, …). */
  plugins?: ApolloServerPlugin<GatewayContext & BaseContext>[];
  /** Runs each HTTP GraphQL request inside (e.g. a trace context taken from the request headers). */
  aroundRequest?: <T>(req: IncomingMessage, work: () => Promise<T>) => Promise<T>;
  /** Open subscriptions per socket, per driver and per process; shared with HTTP callback subscriptions. Default: DEFAULTS'. */
  subscriptionLimits?: SubscriptionLimits;
  /** Browser origins allowed on /graphql and its websocket (Config.graphql.cors). Default: any localhost origin. */
  cors?: { origins: readonly string[]; allowLocalhost: boolean; logger?: Logger };
}

export interface GraphQLServer {
  server: Server;
  stop(): Promise<void>;
  /**
   * Closes every websocket with 1013 ("try again later"): the clients reconnect, read the current
   * state and subscribe again. For when pushes were lost and cannot be made good (onDeliveryLost).
   */
  resumeSubscribers(reason: string): number;
}

/** Close code for "pushes were lost: reconnect and read the current state" (README, Reconnecting clients). */
export const RESUME_CLOSE_CODE = 1013;

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
  const cors = createCorsPolicy({
    origins: options.cors?.origins ?? [],
    allowLocalhost: options.cors?.allowLocalhost ?? true,
    logger: options.cors?.logger ?? logger,
  });
  const ws = attachWebSocket({
    server,
    cors,
    path: GRAPHQL_PATH,
    schema,
    authenticator,
    contextFor,
    documentLimits,
    persisted,
    subscriptionLimits: options.subscriptionLimits ?? createSubscriptionLimits(DEFAULTS.subscriptionLimits, { logger }),
    formatError,
    production: options.production,
    maxPayload: maxBodyBytes,
    metrics: options.metrics ?? null,
    logger,
  });

  // Parsed documents, compiled plans and persisted queries are kept for signed-in drivers only,
  // within fixed bounds (document-caches.ts): what comes without a token is parsed, validated and
  // run afresh, and leaves nothing behind.
  const signedIn = (context: GatewayContext) => context.driver !== null;
  const documents = authenticatedDocumentCaches(signedIn);
  const apollo = new ApolloServer<GatewayContext & BaseContext>({
    ...((options.execution ?? "jit") === "jit" ? { gateway: createJitGateway(schema, { compiles: signedIn }) } : { schema }),
    documentStore: documents.documentStore,
    introspection,
    // Apollo's CSRF prevention, knowing our authentication: a request that carries Authorization was
    // preflighted by any browser (it is not a "simple" header), so GET queries from urql,
    // graphql-request and Apollo's useGETForQueries pass. Mutations never run over GET (Apollo: 405).
    csrfPrevention: { requestHeaders: ["authorization", "x-apollo-operation-name", "apollo-require-preflight"] },
    // main.ts owns SIGINT/SIGTERM and shuts everything down in order; Apollo's own handlers
    // (installed whenever NODE_ENV is not "test") raced it and left the process hanging.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: !options.production,
    validationRules: documentLimits.validationRules,
    parseOptions: documentLimits.parseOptions,
    // The allow-list resolves persisted queries itself; nobody may register new ones.
    persistedQueries: persisted.mode === "allow-list" ? false : { cache: documents.persistedQueryCache },
    formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer: server, stopGracePeriodMillis: options.shutdownGraceMs ?? DEFAULTS.shutdownGraceMs }),
      documents.plugin,
      // No cache hints are used: skip the plugin's per-field work.
      ApolloServerPluginCacheControlDisabled(),
      options.sandbox ? ApolloServerPluginLandingPageLocalDefault({ embed: true }) : ApolloServerPluginLandingPageDisabled(),
      websocketDrainPlugin(ws.wsServer, ws.dispose),
      // A subscription POSTed here gets 400 and a pointer to graphql-ws on this path.
      httpSubscriptionsPlugin(),
      storeUnavailablePlugin(),
      partialAnswersPlugin(),
      ...(options.plugins ?? []),
      ...(options.metrics ? [requestMetricsPlugin(options.metrics)] : []),
    ],
  });
  await apollo.start();

  const serveGraphQL = httpGraphQLHandler({ apollo, authenticator, contextFor, persisted, maxBodyBytes });
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    if (options.ops?.(req, res)) return;
    if (options.extraRoutes?.(req, res)) return;
    const url = new URL(req.url ?? "/", "http://gateway");
    if (url.pathname === "/healthz") return sendText(res, 200, '{"status":"ok"}', { "content-type": "application/json" });
    if (url.pathname !== GRAPHQL_PATH) return sendText(res, 404, "Not found", { "content-type": "text/plain" });
    if (cors.handle(req, res)) return;
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

  return {
    server,
    async stop() {
      await apollo.stop();
    },
    resumeSubscribers(reason) {
      let closed = 0;
      for (const socket of ws.wsServer.clients) {
        socket.close(RESUME_CLOSE_CODE, "Updates were interrupted: reconnect and read the current state");
        closed++;
      }
      logger.warn({ sockets: closed, reason }, "subscription sockets closed so that clients resume");
      return closed;
    },
  };
}
