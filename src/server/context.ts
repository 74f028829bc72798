import DataLoader from "dataloader";
import { unauthenticated } from "../errors.js";
import type { OicpEvseStatus } from "../oicp/wire.js";
import type { SessionEvents } from "../sessions/session.events.js";
import type { Driver, SessionService } from "../sessions/session.service.js";

export interface GatewayContext {
  /** Null when the request carries no token: public fields work, everything else asks for one. */
  driver: Driver | null;
  sessions: SessionService;
  events: SessionEvents;
  /** A CHARGING session silent for longer than this is `stale`. */
  staleAfterMs: number;
  /** One per request (HTTP) or per event (subscriptions): batches EVSE status lookups. */
  evseStatus: DataLoader<string, OicpEvseStatus>;
}

export function requireDriver(context: GatewayContext): Driver {
  if (!context.driver) throw unauthenticated();
  return context.driver;
}
