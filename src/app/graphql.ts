// Step: the GraphQL server the apps talk to (HTTP and graphql-ws on /graphql), its per-request
// context, and the development page at /app.
import DataLoader from "dataloader";
import { createAppPage, type DevTokenSigning } from "../app-page/app-page.js";
import type { Config } from "../config/config.js";
import { DEV_JWT_SECRET } from "../config/env.js";
import { createEvseStatusLoader } from "../evse-status/request-loader.js";
import { federationLoaders } from "../federation/loaders.js";
import { federationServerPlugins } from "../federation/server-plugins.js";
import type { IdentificationRegistry } from "../identifications/registry.js";
import type { Logger } from "../logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { OpsHandler } from "../observability/ops-endpoints.js";
import type { Tracing } from "../observability/tracing.js";
import type { PricingService } from "../pricing/pricing.service.js";
import { buildGatewaySchema } from "../schema/build-schema.js";
import { type AuthenticatorOptions, createAuthenticator } from "../server/auth.js";
import type { GatewayContext } from "../server/context.js";
import { createGraphQLServer, GRAPHQL_PATH } from "../server/graphql.server.js";
import { createSubscriptionLimits } from "../server/subscription-limits.js";
import type { SessionEvents } from "../sessions/ports.js";
import type { SessionService } from "../sessions/session.service.js";
import type { SessionStore } from "../sessions/session.store.js";
import type { HubjectSimulator } from "../simulator/hubject.simulator.js";
import type { EvseStatusStep } from "./evse-status.js";
import { type Closers, closeServer, displayHost, listen } from "./lifecycle.js";

export interface GraphQLStep {
  graphqlUrl: string;
  websocketUrl: string;
}

export async function startGraphQL(
  config: Config,
  deps: {
    store: SessionStore;
    sessions: SessionService;
    events: SessionEvents;
    evseStatus: EvseStatusStep;
    identifications: IdentificationRegistry;
    pricing?: PricingService;
    catalogue?: GatewayContext["catalogue"];
    simulator: HubjectSimulator | null;
    ops: OpsHandler;
    metrics: GatewayMetrics | null;
    tracing: Tracing;
    logger: Logger;
    closers: Closers;
  },
  overrides: { authenticator?: AuthenticatorOptions } = {},
): Promise<GraphQLStep> {
  const { store, sessions, events, logger, tracing } = deps;
  const { reader, driverLimit } = deps.evseStatus;
  // One count of open subscriptions for both transports: graphql-ws and the routers' HTTP callbacks.
  const subscriptionLimits = createSubscriptionLimits(config.graphql.subscriptionLimits, {
    logger: logger.child({ component: "graphql" }),
  });

  const graphql = await createGraphQLServer({
    schema: await buildGatewaySchema(),
    authenticator: createAuthenticator(config.auth, overrides.authenticator),
    contextFor: (driver, transport) => {
      if (driver) {
        sessions
          .rememberContracts(driver)
          .catch((error: unknown) => logger.warn({ err: error }, "could not record the driver's contracts"));
      }
      // The loaders are made on first use: most requests and most of the (hours-long) websocket
      // subscriptions never need them.
      let evseStatus: GatewayContext["evseStatus"] | undefined;
      let federation: ReturnType<typeof federationLoaders> | undefined;
      let prices: GatewayContext["prices"];
      const { pricing } = deps;
      return {
        driver,
        sessions,
        events,
        identifications: deps.identifications,
        ...(deps.catalogue ? { catalogue: deps.catalogue } : {}),
        operatorRole: config.identifications.operatorRole,
        staleAfterMs: config.staleAfterMs,
        // Per HTTP request: cached and batched. Per websocket operation: batched but not cached,
        // so every pushed event asks the shared reader (and its cache) again.
        get evseStatus() {
          evseStatus ??= createEvseStatusLoader(reader, {
            cache: transport === "http",
            maxIds: config.evseStatus.maxIdsPerRequest,
            ...(driver ? { mayCallHubject: driverLimit(driver.id) } : {}),
          });
          return evseStatus;
        },
        pricing,
        // Evse.prices of one request: one store read (src/pricing).
        get prices() {
          if (pricing) prices ??= new DataLoader((ids: readonly string[]) => pricing.productsAt(ids), { cache: transport === "http" });
          return prices;
        },
        // Federation: ChargingSession references, one store.getMany per request, caller's sessions only.
        get sessionReferences() {
          federation ??= federationLoaders(store, driver, transport);
          return federation.sessionReferences;
        },
      };
    },
    sandbox: config.sandbox,
    introspection: config.graphql.introspection,
    execution: config.graphql.execution,
    limits: config.graphql.limits,
    persistedQueries: config.graphql.persistedQueries,
    maxBodyBytes: config.graphql.maxBodyBytes,
    production: config.env === "production",
    logger: logger.child({ component: "graphql" }),
    ops: deps.ops,
    metrics: deps.metrics,
    shutdownGraceMs: config.shutdownGraceMs,
    extraRoutes: developmentPage(config, deps.simulator, logger),
    plugins: [
      ...(tracing.graphqlPlugin ? [tracing.graphqlPlugin] : []),
      // Subgraph plugins: inline ftv1 tracing off; Apollo's HTTP callback subscriptions towards the routers' URLs only.
      ...federationServerPlugins({
        subscriptionCallbackUrls: config.federation.subscriptionCallbackUrls,
        subscriptionLimits,
        logger: logger.child({ component: "graphql" }),
      }),
    ],
    aroundRequest: tracing.aroundRequest,
    subscriptionLimits,
    cors: { ...config.graphql.cors, logger: logger.child({ component: "cors" }) },
  });
  // Pushes that could not be delivered are never dropped silently: the clients resume.
  events.onDeliveryLost?.((reason) => graphql.resumeSubscribers(reason));
  const port = await listen(graphql.server, config.http.port, config.http.host);
  deps.closers.push(async () => {
    await graphql.stop();
    if (graphql.server.listening) await closeServer(graphql.server);
  });
  const host = displayHost(config.http.host);
  return { graphqlUrl: `http://${host}:${port}${GRAPHQL_PATH}`, websocketUrl: `ws://${host}:${port}${GRAPHQL_PATH}` };
}

/** The driver's page at /app, in development only. */
function developmentPage(config: Config, simulator: HubjectSimulator | null, logger: Logger) {
  if (config.env === "production") return undefined;
  return createAppPage({
    env: config.env,
    catalogueUrl: simulator ? new URL("/simulator/catalogue", simulator.url).href : null,
    devTokens: devTokenSigning(config),
    logger: logger.child({ component: "app-page" }),
  });
}

/**
 * Development tokens only next to the built-in secret and the built-in simulator: a token signed
 * with a configured secret is as good as a real driver's, and one for a real Hubject starts real
 * chargers. It signs with DEV_JWT_SECRET itself, never with what the config holds.
 */
export function devTokenSigning(config: Config): DevTokenSigning | null {
  if (config.auth.mode !== "secret" || !config.auth.isDevDefault || config.hubject.mode !== "simulator") return null;
  return { secret: DEV_JWT_SECRET, issuer: config.auth.issuer, audience: config.auth.audience };
}
