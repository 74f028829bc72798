// Sessions that begin and end at the charger: a driver holds the EMP's card to it, scans its QR
// code or plugs in a car, and Hubject asks us (AuthorizeStart / AuthorizeStop, src/identifications).
// An authorized start creates the driver's session at once, so the app shows it before energy
// flows; the notifications and the CDR then land on it by SessionID (or by the EMPPartnerSessionID
// we answered). All writes go through the one write path (session-writer.ts).
import { randomUUID } from "node:crypto";
import type { Logger } from "../logger.js";
import type { InboundMessages } from "./inbound-messages.js";
import type { ChargingSession } from "./session.js";
import type { SessionStore } from "./session.store.js";
import type { SessionWriter } from "./session-writer.js";

export interface AuthorizedStart {
  driverId: string;
  /** The contract the identification charges. */
  evcoId: string;
  evseId: string;
  /** Hubject's SessionID when the request carried one (it usually does). */
  hubjectSessionId: string | null;
  identificationId: string;
  partnerProductId: string | null;
  at: Date;
}

export type StartResult =
  | { ok: true; session: ChargingSession; created: boolean }
  /** Hubject's SessionID already names a session of another driver or another EVSE: never joined. */
  | { ok: false; problem: string };

export class ChargerSessions {
  constructor(
    private readonly deps: {
      store: SessionStore;
      writer: SessionWriter;
      inbound: Pick<InboundMessages, "applyMessagesFor">;
      logger: Logger;
    },
  ) {}

  /**
   * The session of an authorized start: created (origin CHARGER, ACCEPTED until energy flows) and
   * pushed to the driver; a repeated request for the same SessionID answers the same session.
   */
  async authorizedStart(start: AuthorizedStart): Promise<StartResult> {
    if (start.hubjectSessionId) {
      const known = await this.deps.store.findByHubjectSessionId(start.hubjectSessionId);
      if (known) return this.same(known, start);
    }
    const created = await this.deps.writer.create({
      id: randomUUID(),
      driverId: start.driverId,
      origin: "CHARGER",
      hubjectSessionId: start.hubjectSessionId,
      evseId: start.evseId,
      evcoId: start.evcoId,
      partnerProductId: start.partnerProductId,
      status: "ACCEPTED",
      requestedAt: start.at,
      identificationId: start.identificationId,
    });
    if (!created) {
      // A concurrent request for the same SessionID won the insert.
      const winner = start.hubjectSessionId ? await this.deps.store.findByHubjectSessionId(start.hubjectSessionId) : undefined;
      return winner ? this.same(winner, start) : { ok: false, problem: "the session could not be created" };
    }
    // Messages that came before the authorization (a CPO's retries, a reordering) wait for it.
    const session = (await this.deps.inbound.applyMessagesFor(created)) ?? created;
    this.deps.logger.info(
      { sessionId: session.id, hubjectSessionId: start.hubjectSessionId, evseId: start.evseId, identificationId: start.identificationId },
      "session authorized at the charger: created for the identification's driver",
    );
    return { ok: true, session, created: true };
  }

  /** A stop at the charger by an identification allowed to stop: recorded on the session (STOP_REQUESTED). */
  async stopAuthorized(session: ChargingSession, identificationId: string, at: Date): Promise<ChargingSession> {
    return (await this.deps.writer.apply(session.id, { type: "STOP_AUTHORIZED", at, identificationId })) ?? session;
  }

  sessionByHubjectId(hubjectSessionId: string): Promise<ChargingSession | undefined> {
    return this.deps.store.findByHubjectSessionId(hubjectSessionId);
  }

  private same(known: ChargingSession, start: AuthorizedStart): StartResult {
    if (known.driverId !== start.driverId) return { ok: false, problem: "the SessionID names another driver's session" };
    return { ok: true, session: known, created: false };
  }
}
