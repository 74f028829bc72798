// Federation subscriptions over Apollo's HTTP callback protocol: the router POSTs the subscription
// with extensions.subscription { callbackUrl, subscriptionId, verifier, heartbeatIntervalMs } to
// /graphql; Apollo Server's ApolloServerPluginSubscriptionCallback answers at once, sends `check`
// to callbackUrl, then one `next` per event and `complete` at the end (also when this server
// drains). The graphql-ws transport on /graphql is unchanged; a router uses one or the other.
//
// The plugin on its own makes this server POST to any URL a client names, before anything else
// is checked: a server-side request forgery. This wrapper lets the plugin see a request only
// when its callbackUrl is under one of the router URLs configured here, the operation is a
// subscription and the caller is signed in; anything else is refused in the HTTP answer and
// nothing is sent anywhere.
import type { ApolloServerPlugin, BaseContext, GraphQLRequestListener } from "@apollo/server";
import { ApolloServerPluginSubscriptionCallback } from "@apollo/server/plugin/subscriptionCallback";
import { badInput, forbidden, unauthenticated } from "../errors.js";
import { isRecord } from "../lib/json.js";
import type { Logger } from "../logger.js";
import { type GatewayContext, takeSubscriptionSlot } from "../server/context.js";
import { isSubscriptionSlot, type SubscriptionLimits, type SubscriptionSlot } from "../server/subscription-limits.js";

export interface SubscriptionCallbackOptions {
  /**
   * Where callbacks may go: the routers' callback URLs, e.g. "http://router.internal:4000/callback".
   * A callbackUrl is accepted when it has the same origin and its path is this path or below it.
   */
  allowedCallbackUrls: readonly string[];
  /**
   * Each callback subscription holds a slot like a websocket one, for its driver and in this
   * process (no socket: a router multiplexes many drivers); refused in the HTTP answer when full.
   */
  subscriptionLimits: SubscriptionLimits;
  logger: Logger;
  /** Heartbeats that may fail in a row before the subscription ends (plugin default 5). */
  maxConsecutiveHeartbeatFailures?: number;
}

type Context = GatewayContext & BaseContext;

export function subscriptionCallbackPlugin(options: SubscriptionCallbackOptions): ApolloServerPlugin<Context> {
  if (options.allowedCallbackUrls.length === 0)
    throw new Error("subscriptionCallbackPlugin: allowedCallbackUrls is empty (leave the plugin out instead)");
  const allowed = options.allowedCallbackUrls.map((entry) => {
    const url = new URL(entry);
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new Error(`subscriptionCallbackPlugin: "${entry}" is not an http(s) URL`);
    return url;
  });
  const log = options.logger.child({ component: "subscription-callback" });
  const inner = ApolloServerPluginSubscriptionCallback({
    logger: {
      debug: (message: string) => log.debug(message),
      info: (message: string) => log.info(message),
      warn: (message: string) => log.warn(message),
      error: (message: string) => log.error(message),
    },
    ...(options.maxConsecutiveHeartbeatFailures !== undefined
      ? { maxConsecutiveHeartbeatFailures: options.maxConsecutiveHeartbeatFailures }
      : {}),
  }) as ApolloServerPlugin<Context>;

  return {
    // Drain: the plugin stops heartbeats and sends `complete` for every open subscription.
    async serverWillStart(service) {
      return inner.serverWillStart?.(service);
    },

    async requestDidStart(requestContext) {
      const extension: unknown = requestContext.request.extensions?.subscription;
      if (extension === undefined) return undefined;
      const callbackUrl = isRecord(extension) ? (extension.callbackUrl ?? extension.callback_url) : undefined;
      if (!callbackUrlAllowed(callbackUrl, allowed)) {
        log.warn(
          { callbackUrl: typeof callbackUrl === "string" ? callbackUrl.slice(0, 200) : undefined },
          "subscription callback refused: URL not allowed",
        );
        return {
          async didResolveOperation() {
            throw forbidden("This callbackUrl is not an allowed subscription callback.");
          },
        };
      }
      const listener = (await inner.requestDidStart?.(requestContext)) ?? {};
      let slot: SubscriptionSlot | undefined;
      const guarded: GraphQLRequestListener<Context> = {
        ...listener,
        async didResolveOperation(ctx) {
          await listener.didResolveOperation?.(ctx);
          if (ctx.operation?.operation !== "subscription") throw badInput("extensions.subscription is only for subscription operations.");
          // Refused here, the router learns it from the HTTP answer and no callback is opened.
          if (!ctx.contextValue.driver) throw unauthenticated();
          const admitted = options.subscriptionLimits.admit(ctx.contextValue.driver.id);
          if (!isSubscriptionSlot(admitted)) throw admitted;
          slot = admitted;
        },
        async willSendResponse(ctx) {
          // The plugin would otherwise `check` and subscribe after a refused or invalid request too.
          const body = ctx.response.body;
          if (ctx.operation?.operation !== "subscription" || (body.kind === "single" && body.singleResult.errors?.length)) {
            slot?.release();
            return;
          }
          // The plugin runs the subscription in here; its stream takes the slot and gives it back
          // when it ends (resolvers/session-updates.resolver.ts).
          ctx.contextValue.subscriptionSlot = slot;
          try {
            await listener.willSendResponse?.(ctx);
          } finally {
            // Not taken: the `check` failed, or the subscription was refused before its stream began.
            takeSubscriptionSlot(ctx.contextValue)?.release();
          }
        },
      };
      return guarded;
    },
  };
}

/** Same origin as an allowed URL and a path at or below its path (segment-wise: /cb does not allow /cbx). */
export function callbackUrlAllowed(raw: unknown, allowed: readonly URL[]): boolean {
  if (typeof raw !== "string") return false;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return false;
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.username || url.password) return false;
  return allowed.some((prefix) => {
    if (url.origin !== prefix.origin) return false;
    const base = prefix.pathname.endsWith("/") ? prefix.pathname : `${prefix.pathname}/`;
    return url.pathname === prefix.pathname || url.pathname.startsWith(base);
  });
}
