// Evidence about a session whose outcome is not known: only what names the session counts (a
// notification, a CDR, Hubject's SessionID). Here: Hubject's own CDR for the session
// (GetChargeDetailRecords by SessionID), fed through the same path as a pushed one, and the EVSE's
// status, which says whether the charging point is free but never whose car is charging there.
import type { Logger } from "../logger.js";
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import type { InboundMessages } from "./inbound-messages.js";
import type { CdrSource, Clock, EvseStatusSource } from "./ports.js";
import type { ChargingSession } from "./session.js";
import type { SessionStore } from "./session.store.js";

/** Hubject keeps CDRs; a session's CDR is looked for from a little before its request until now. */
const CDR_LOOKUP_MARGIN_MS = 3_600_000;

export class SessionEvidence {
  constructor(
    private readonly deps: {
      cdrs: CdrSource;
      statuses: EvseStatusSource;
      inbound: InboundMessages;
      store: Pick<SessionStore, "get">;
      clock: Clock;
      logger: Logger;
    },
  ) {}

  /** Asks Hubject for the session's CDR and applies it if there is one; true when the session now has its CDR. */
  async lookUpCdr(session: ChargingSession): Promise<boolean> {
    if (!session.hubjectSessionId) return false;
    const now = this.deps.clock.now();
    try {
      for await (const page of this.deps.cdrs.chargeDetailRecordTexts({
        from: new Date(session.requestedAt.getTime() - CDR_LOOKUP_MARGIN_MS),
        to: now,
        sessionIds: [session.hubjectSessionId],
      })) {
        for (const text of page) {
          await this.deps.inbound.receive({ kind: "CDR", text, operatorId: null, receivedAt: now, source: "backfill" });
        }
      }
    } catch (error) {
      this.deps.logger.warn({ err: error, sessionId: session.id }, "could not look the session's CDR up; the next run tries again");
    }
    // Only a CDR applied to this session counts (one that did not fit it is flagged, not evidence).
    return (await this.deps.store.get(session.id))?.chargeDetailRecord != null;
  }

  /** The statuses of these EVSEs, or null when Hubject could not be asked (the next run tries again). */
  async evseStatuses(evseIds: readonly string[]): Promise<Map<string, OicpEvseStatus> | null> {
    try {
      return await this.deps.statuses.pullEvseStatusById(evseIds);
    } catch (error) {
      this.deps.logger.warn({ err: error }, "could not read EVSE statuses; the next run tries again");
      return null;
    }
  }
}
