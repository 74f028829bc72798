// How many subscriptions may be open at once: per websocket, per driver (all their sockets, and
// their HTTP callback subscriptions, on this replica) and per process. Each open subscription
// costs memory and a share of every fan-out of its session; a client that opens thousands
// makes every other driver on the replica wait (issue 12). A real app opens one or two per
// device; the defaults (config/defaults.ts) are far above that and far below what hurts.
//
// Counted where a subscription is admitted: graphql-ws's onSubscribe (server/websocket.ts, the
// slot given back on complete, error or close) and the HTTP callback plugin
// (federation/subscription-callback.ts, given back when the stream ends). Queries and mutations
// sent over a websocket are not subscriptions and are not counted.
//
// The counts are this process's: in a deployment of several replicas a driver may hold the
// per-driver number on each. A refused client that reconnects may land on another replica,
// which is what the per-process limit is for.
import { GraphQLError } from "graphql";
import type { Logger } from "../logger.js";

export interface SubscriptionLimitSettings {
  /** Open subscriptions on one websocket (SUBSCRIPTION_MAX_PER_SOCKET). */
  perSocket: number;
  /** Open subscriptions of one driver in this process, over all their sockets (SUBSCRIPTION_MAX_PER_DRIVER). */
  perDriver: number;
  /** Open subscriptions in this process, every driver and transport together (SUBSCRIPTION_MAX_PER_PROCESS). */
  perProcess: number;
}

/** Which limit refused a subscription: `extensions.limit` of the error. */
export type SubscriptionLimitKind = "PER_SOCKET" | "PER_DRIVER" | "PER_PROCESS";

/** One admitted subscription's place in the counts; release() gives it back (once, however often called). */
export interface SubscriptionSlot {
  release(): void;
}

export interface SubscriptionLimits {
  readonly settings: SubscriptionLimitSettings;
  /**
   * Takes a slot for a subscription of `driverId`; `openOnSocket` is how many the socket holds
   * already (omitted off a websocket). A refusal is the error to send, and takes nothing.
   */
  admit(driverId: string, openOnSocket?: number): SubscriptionSlot | GraphQLError;
  /** Open subscriptions in this process. */
  open(): number;
  /** Open subscriptions of one driver in this process. */
  openFor(driverId: string): number;
}

/** The process-wide limit is an operator's concern: warned about at most this often, with the refusals since. */
const PROCESS_WARN_INTERVAL_MS = 60_000;

export function createSubscriptionLimits(settings: SubscriptionLimitSettings, options: { logger?: Logger } = {}): SubscriptionLimits {
  for (const [name, value] of Object.entries(settings)) {
    if (!Number.isInteger(value) || value < 1) throw new Error(`subscription limit ${name} must be a positive integer, got ${value}`);
  }
  const { logger } = options;
  let total = 0;
  const byDriver = new Map<string, number>();
  let processRefusals = 0;
  let processWarnedAt = Number.NEGATIVE_INFINITY;

  const refuse = (limit: SubscriptionLimitKind, max: number): GraphQLError => {
    if (limit === "PER_PROCESS") {
      processRefusals++;
      const now = performance.now();
      if (now - processWarnedAt >= PROCESS_WARN_INTERVAL_MS) {
        logger?.warn({ limit, max, refused: processRefusals }, "subscriptions refused: this process holds its maximum (add replicas?)");
        processWarnedAt = now;
        processRefusals = 0;
      }
    } else {
      // A client's own excess, answered to it; not an operator's concern (and a flood of them must not flood the logs).
      logger?.debug({ limit, max }, "subscription refused: limit reached");
    }
    return subscriptionLimitError(limit, max);
  };

  return {
    settings,
    admit(driverId, openOnSocket) {
      if (openOnSocket !== undefined && openOnSocket >= settings.perSocket) return refuse("PER_SOCKET", settings.perSocket);
      const driverOpen = byDriver.get(driverId) ?? 0;
      if (driverOpen >= settings.perDriver) return refuse("PER_DRIVER", settings.perDriver);
      if (total >= settings.perProcess) return refuse("PER_PROCESS", settings.perProcess);
      total++;
      byDriver.set(driverId, driverOpen + 1);
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          total--;
          const left = (byDriver.get(driverId) ?? 1) - 1;
          if (left > 0) byDriver.set(driverId, left);
          else byDriver.delete(driverId);
        },
      };
    },
    open: () => total,
    openFor: (driverId) => byDriver.get(driverId) ?? 0,
  };
}

const MESSAGES: Record<SubscriptionLimitKind, (max: number) => string> = {
  PER_SOCKET: (max) =>
    `Too many subscriptions on this connection: at most ${max} may be open on one connection (SUBSCRIPTION_MAX_PER_SOCKET). Complete one before starting another.`,
  PER_DRIVER: (max) =>
    `Too many subscriptions for this driver: at most ${max} may be open at once across all of your connections (SUBSCRIPTION_MAX_PER_DRIVER). Complete one before starting another.`,
  PER_PROCESS: (max) =>
    `This server holds as many subscriptions as it can (SUBSCRIPTION_MAX_PER_PROCESS, ${max}). Please try again in a moment.`,
};

/**
 * The refusal: code SUBSCRIPTION_LIMIT, which limit and its value. Retrying only helps for the
 * process-wide limit (others complete, or a reconnection reaches another replica); past the
 * socket's or the driver's, the client has to complete one of its own first.
 */
export function subscriptionLimitError(limit: SubscriptionLimitKind, max: number): GraphQLError {
  return new GraphQLError(MESSAGES[limit](max), {
    extensions: { code: "SUBSCRIPTION_LIMIT", limit, max, retryable: limit === "PER_PROCESS", http: { status: 429 } },
  });
}

export const isSubscriptionSlot = (value: SubscriptionSlot | GraphQLError): value is SubscriptionSlot => !(value instanceof GraphQLError);
