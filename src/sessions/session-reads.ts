// Reads of the driver's own sessions, and what the gateway learns from the driver's token.
import { badInput, forbidden } from "../errors.js";
import type { ChargingSession, Driver } from "./session.js";
import type { SessionPageQuery, SessionStore } from "./session.store.js";

/** At most one write of a driver's contracts per hour. */
const CONTRACTS_REFRESH_MS = 3_600_000;
/** Sessions a resuming subscription is sent before its live events. */
export const RESUME_MAX = 200;

export class SessionReads {
  /** Drivers whose contracts were recorded recently, and when. */
  private readonly contractsSeen = new Map<string, number>();

  constructor(private readonly store: SessionStore) {}

  /** A session of the caller's; another driver's session is FORBIDDEN. */
  async sessionForDriver(driver: Driver, id: string): Promise<ChargingSession | null> {
    const session = await this.store.get(id);
    if (!session) return null;
    if (session.driverId !== driver.id) throw forbidden("This charging session belongs to another account.");
    return session;
  }

  async listForDriver(driver: Driver, query: Omit<SessionPageQuery, "driverId">) {
    return this.store.listForDriver({ ...query, driverId: driver.id });
  }

  /** Checks that a session id the caller names is theirs (used by mutations and subscriptions). */
  async ownSession(driver: Driver, id: string, verb: string): Promise<ChargingSession> {
    const session = await this.sessionForDriver(driver, id);
    if (!session) throw badInput(`There is no charging session with id "${id}" to ${verb}.`, "sessionId");
    return session;
  }

  /**
   * Remembers which contracts a driver holds (from the token), so that sessions started at the
   * charger with one of them reach this driver (docs/oicp.md#charger-sessions). Cheap: once per driver and hour.
   */
  /**
   * What a subscriber resuming from `since` missed: the caller's sessions (or the one session)
   * changed at or after it, oldest change first, at most RESUME_MAX (the newest ones are then the
   * ones that matter: the rest the app reads with chargingSessions).
   */
  async changedSince(driver: Driver, since: Date, sessionId: string | null): Promise<ChargingSession[]> {
    if (sessionId !== null) {
      const session = await this.ownSession(driver, sessionId, "watch");
      return session.updatedAt.getTime() >= since.getTime() ? [session] : [];
    }
    return this.store.changedForDriver(driver.id, since, RESUME_MAX);
  }

  async rememberContracts(driver: Driver): Promise<void> {
    const now = Date.now();
    const last = this.contractsSeen.get(driver.id);
    if (driver.evcoIds.length === 0 || (last !== undefined && now - last < CONTRACTS_REFRESH_MS)) return;
    this.contractsSeen.set(driver.id, now);
    await this.store.recordDriverContracts(driver.id, driver.evcoIds);
  }
}
