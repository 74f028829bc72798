// The Apollo Server plugins that go with running as a subgraph (graphql.server.ts `plugins`).
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { ApolloServerPluginInlineTraceDisabled } from "@apollo/server/plugin/disabled";
import type { Logger } from "../logger.js";
import type { GatewayContext } from "../server/context.js";
import type { SubscriptionLimits } from "../server/subscription-limits.js";
import { subscriptionCallbackPlugin } from "./subscription-callback.js";

export interface FederationPluginOptions {
  /** The routers' subscription callback URLs; empty = the HTTP callback protocol is off. */
  subscriptionCallbackUrls: readonly string[];
  /** The callback subscriptions count with the websocket ones (per driver, per process). */
  subscriptionLimits: SubscriptionLimits;
  logger: Logger;
}

export function federationServerPlugins(options: FederationPluginOptions): ApolloServerPlugin<GatewayContext & BaseContext>[] {
  return [
    // Apollo Server turns on federated inline tracing (ftv1) by itself once the schema is a
    // subgraph: any caller sending `apollo-federation-include-trace: ftv1` would get per-field
    // timings, and every start logs a line on stdout. Tracing here is OpenTelemetry's; a router
    // that wants ftv1 for GraphOS can have it back by dropping this line.
    ApolloServerPluginInlineTraceDisabled() as ApolloServerPlugin<GatewayContext & BaseContext>,
    ...(options.subscriptionCallbackUrls.length > 0
      ? [
          subscriptionCallbackPlugin({
            allowedCallbackUrls: options.subscriptionCallbackUrls,
            subscriptionLimits: options.subscriptionLimits,
            logger: options.logger,
          }),
        ]
      : []),
  ];
}
