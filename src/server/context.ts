import type DataLoader from "dataloader";
import type { CatalogueStore, EvseStatusEvents } from "../catalogue/ports.js";
import { forbidden, unauthenticated } from "../errors.js";
import type { LoadedEvseStatus } from "../evse-status/request-loader.js";
import type { IdentificationRegistry } from "../identifications/registry.js";
import type { PricingProduct } from "../pricing/pricing.js";
import type { PricingService } from "../pricing/pricing.service.js";
import type { SessionEvents } from "../sessions/ports.js";
import type { ChargingSession, Driver } from "../sessions/session.js";
import type { SessionService } from "../sessions/session.service.js";
import type { AuthenticatedDriver } from "./auth.js";
import type { SubscriptionSlot } from "./subscription-limits.js";

export interface GatewayContext {
  /** Null when the request carries no token: public fields work, everything else asks for one. */
  driver: AuthenticatedDriver | null;
  sessions: SessionService;
  /** The EMP's identifications (cards, QR codes, cars): drivers read and block their own, operators manage all. */
  identifications: IdentificationRegistry;
  /** The `roles` claim value that opens the operator operations (OPERATOR_ROLE). */
  operatorRole: string;
  events: SessionEvents;
  /** A CHARGING session silent for longer than this is `stale`. */
  staleAfterMs: number;
  /** One per request (HTTP) or per operation (subscriptions): EVSE status reads, capped per request (evse-status/request-loader.ts). */
  evseStatus: DataLoader<string, LoadedEvseStatus>;
  /** Prices (src/pricing): the service, and one per request batching Evse.prices into one store read. */
  pricing?: PricingService | undefined;
  prices?: DataLoader<string, PricingProduct[]> | undefined;
  /**
   * Federation: the ChargingSession references of one request (Query._entities), batched into
   * one store.getMany and already narrowed to the caller's own sessions (another driver's id
   * loads as null). Built by federation/loaders.ts#federationLoaders, bound to `driver`.
   * Optional only so that a context built without it still type-checks: resolving a
   * ChargingSession reference without it is a wiring bug and fails loudly.
   */
  sessionReferences: DataLoader<string, ChargingSession | null>;
  /** The EVSE catalogue (search, Evse details) and its status changes (src/catalogue). */
  catalogue?: { store: CatalogueStore; events: EvseStatusEvents | null };
  /**
   * An HTTP callback subscription's slot in the subscription limits (federation/subscription-callback.ts):
   * the subscription's stream takes it (takeSubscriptionSlot) and gives it back when it ends.
   * graphql-ws counts its subscriptions in its own hooks (websocket.ts) and sets none.
   */
  subscriptionSlot?: SubscriptionSlot | undefined;
}

/** The slot this operation holds, now owned by the caller (who releases it); at most once. */
export function takeSubscriptionSlot(context: GatewayContext): SubscriptionSlot | undefined {
  const slot = context.subscriptionSlot;
  context.subscriptionSlot = undefined;
  return slot;
}

export function requireDriver(context: GatewayContext): Driver {
  if (!context.driver) throw unauthenticated();
  return context.driver;
}

/**
 * The caller, who must hold the operator role (a `roles` claim containing OPERATOR_ROLE): managing
 * every driver's identifications. No token: UNAUTHENTICATED; a token without the role: FORBIDDEN.
 */
export function requireOperator(context: GatewayContext): AuthenticatedDriver {
  const driver = context.driver;
  if (!driver) throw unauthenticated();
  if (!isOperator(context)) throw forbidden("This operation is for the EMP's operators only.");
  return driver;
}

/** Whether the caller holds the operator role (for what operators see differently, e.g. full UIDs). */
export function isOperator(context: GatewayContext): boolean {
  return context.driver?.roles.includes(context.operatorRole) ?? false;
}
