// GraphQL over websockets (graphql-ws) on the app server's /graphql: authentication in
// connection_init, the token's expiry closing the socket (4403), the same document checks and
// error masking as HTTP, the subscription limits (subscription-limits.ts), and the open-subscriptions gauge.

import type { Server } from "node:http";
import { type GraphQLError, type GraphQLSchema, getOperationAST } from "graphql";
import { CloseCode, type SubscribePayload } from "graphql-ws";
import { useServer } from "graphql-ws/use/ws";
import { WebSocketServer } from "ws";
import type { Logger } from "../logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { DocumentLimits } from "./armor.js";
import { type AuthenticatedDriver, type Authenticator, bearerToken, msUntilExpiry } from "./auth.js";
import type { GatewayContext } from "./context.js";
import type { CorsPolicy } from "./cors.js";
import { type ErrorFormatter, formatWsError } from "./error-masking.js";
import type { PersistedQueryGuard } from "./persisted-queries.js";
import { isSubscriptionSlot, type SubscriptionLimits, type SubscriptionSlot } from "./subscription-limits.js";

/** setTimeout holds at most ~24.8 days; a token living longer is re-checked on every event anyway. */
const MAX_TIMER_MS = 2_147_483_647;

type SocketExtra = {
  driver?: AuthenticatedDriver;
  /** Operations running on this socket, for the open-subscriptions gauge. */
  openOperations?: number;
  /**
   * The subscription-limit slots of this socket's subscriptions, by their subscribe payload: the
   * object graphql-ws hands to onSubscribe and again to onComplete for that operation (an id may
   * be reused once completed, before the old operation's onComplete has run).
   */
  slots?: Map<SubscribePayload, { id: string; slot: SubscriptionSlot }>;
};

export interface WebSocketOptions {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  authenticator: Authenticator;
  contextFor: (driver: AuthenticatedDriver | null, transport: "ws") => GatewayContext;
  documentLimits: DocumentLimits;
  persisted: PersistedQueryGuard;
  /** Subscriptions per socket, per driver and per process (shared with the HTTP callback subscriptions). */
  subscriptionLimits: SubscriptionLimits;
  formatError: ErrorFormatter;
  production: boolean;
  /** Largest websocket message; a bigger frame closes the socket with 1009 before it is parsed. */
  maxPayload: number;
  /** A browser's Origin must be allowed (cors.ts); a foreign one gets HTTP 403 at the upgrade. */
  cors?: Pick<CorsPolicy, "allows">;
  metrics: GatewayMetrics | null;
  logger: Logger;
}

export function attachWebSocket(options: WebSocketOptions): { wsServer: WebSocketServer; dispose: () => Promise<void> } {
  const { schema, authenticator, persisted, documentLimits, subscriptionLimits, metrics, logger } = options;
  const cors = options.cors;
  const wsServer = new WebSocketServer({
    server: options.server,
    path: options.path,
    maxPayload: options.maxPayload,
    // A page of another site may open a websocket with its user's cookies; we use no cookies, but
    // the allow-list is the same for both transports. No Origin: not a browser (native apps).
    ...(cors
      ? {
          verifyClient: (info: { origin?: string }, done: (ok: boolean, code?: number, message?: string) => void) =>
            info.origin === undefined || info.origin === "" || cors.allows(info.origin)
              ? done(true)
              : done(false, 403, "Origin not allowed"),
        }
      : {}),
  });
  const wsErrors = (errors: readonly GraphQLError[]) => errors.map((error) => formatWsError(options.formatError, error));

  const handle = useServer<Record<string, unknown> | undefined, SocketExtra>(
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
          metrics?.openSubscriptions.dec(ctx.extra.openOperations ?? 0);
          ctx.extra.openOperations = 0;
          for (const { slot } of ctx.extra.slots?.values() ?? []) slot.release();
          ctx.extra.slots?.clear();
        });
        return true;
      },
      // Replaces graphql-ws's own parse + validate: allow-list, token limit, limits, introspection.
      onSubscribe: (ctx, id, payload) => {
        const decision = persisted.decide(payload.query, payload.extensions);
        if (decision.kind === "refuse") return [decision.error];
        const checked = documentLimits.checkDocument(decision.kind === "run" ? decision.query : payload.query);
        if ("errors" in checked) return checked.errors;
        // A subscription takes a slot before it runs, or is refused with an `error` for its id
        // alone: the socket and its other operations go on. Given back in onComplete or on close.
        if (getOperationAST(checked.document, payload.operationName)?.operation === "subscription" && ctx.extra.driver) {
          ctx.extra.slots ??= new Map();
          const slots = ctx.extra.slots;
          // A `complete` from the client ends its operation at once (graphql-ws forgets the id),
          // its onComplete a few microtasks later: a `subscribe` right behind it gets that slot.
          for (const [held, { id: heldId, slot }] of slots) {
            if (heldId in ctx.subscriptions) continue;
            slot.release();
            slots.delete(held);
          }
          const admitted = subscriptionLimits.admit(ctx.extra.driver.id, slots.size);
          if (!isSubscriptionSlot(admitted)) return [admitted];
          slots.set(payload, { id, slot: admitted });
        }
        return { schema, document: checked.document, operationName: payload.operationName, variableValues: payload.variables };
      },
      context: (ctx) => options.contextFor(ctx.extra.driver ?? null, "ws"),
      onOperation: (ctx) => {
        ctx.extra.openOperations = (ctx.extra.openOperations ?? 0) + 1;
        metrics?.openSubscriptions.inc();
        metrics?.graphqlRequests.inc({ transport: "ws", operation_type: "subscription", outcome: "ok" });
        return undefined;
      },
      onComplete: (ctx, _id, payload) => {
        ctx.extra.slots?.get(payload)?.slot.release();
        ctx.extra.slots?.delete(payload);
        if (!ctx.extra.openOperations) return;
        ctx.extra.openOperations--;
        metrics?.openSubscriptions.dec();
      },
      onNext: (_ctx, _id, _payload, _args, result) => {
        if (!result.errors?.length) return undefined;
        return { ...result, errors: wsErrors(result.errors) };
      },
      onError: (_ctx, _id, _payload, errors) => {
        metrics?.graphqlRequests.inc({ transport: "ws", operation_type: "subscription", outcome: "error" });
        logger.debug({ errors: errors.map((e) => e.message) }, "websocket operation refused or failed");
        return wsErrors(errors);
      },
    },
    wsServer,
  );
  return { wsServer, dispose: async () => await handle.dispose() };
}
