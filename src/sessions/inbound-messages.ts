// What Hubject tells us: charging notifications and CDRs, stored before they are acknowledged,
// matched to their session (docs/oicp.md#session-flow) and applied through the one write path.
import { randomUUID } from "node:crypto";
import { type Logger, redactEvcoId } from "../logger.js";
import { sameEvseId } from "../oicp/wire/identifiers.js";
import type { InboundReader, ParsedInbound, SessionMetrics } from "./ports.js";
import type { ChargingSession } from "./session.js";
import type { SessionStore, StoredInboundMessage } from "./session.store.js";
import type { SessionWriter } from "./session-writer.js";

export interface InboundOutcome {
  duplicate: boolean;
  /** The session it was applied to; null while it waits for its session. */
  session: ChargingSession | null;
}

export interface InboundMessagesDeps {
  store: SessionStore;
  writer: SessionWriter;
  reader: InboundReader;
  logger: Logger;
  /** Window for the EvseID + EvcoID fallback match (docs/oicp.md#session-flow). */
  matchWindowMs: number;
  metrics?: SessionMetrics;
}

export class InboundMessages {
  constructor(private readonly deps: InboundMessagesDeps) {}

  /**
   * Stores a notification or CDR (before the caller acknowledges it), then applies it to its
   * session. A message whose session is not known yet stays stored and is applied when the
   * remote-start answer names its SessionID (docs/oicp.md#early-messages), or by the recovery
   * sweep. Duplicates change nothing (docs/oicp.md#duplicates).
   */
  async receive(parsed: ParsedInbound): Promise<InboundOutcome> {
    const { stored, seq } = await this.deps.store.recordInbound(parsed.message);
    this.deps.metrics?.inbound(parsed.message.type, stored ? "stored" : "duplicate", lagOf(parsed));
    if (!stored || seq === null) return { duplicate: true, session: null };
    const session = await this.applyInbound(parsed, seq);
    if (!session) {
      this.deps.logger.info(
        { hubjectSessionId: parsed.ids.hubjectSessionId, type: parsed.message.type, evseId: parsed.ids.evseId },
        "inbound message for a session not known yet: kept until its session appears",
      );
    }
    return { duplicate: false, session };
  }

  /**
   * Applies stored messages that still wait for their session (after a restart, or a driver seen
   * later). Only a recent window is looked at, so that messages no one can claim (an RFID card
   * of no known driver) do not crowd out newer ones; they stay stored for operators.
   */
  async applyWaitingMessages(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<number> {
    let applied = 0;
    for (const message of await this.deps.store.unattachedInboundBetween(receivedAfter, receivedBefore, limit)) {
      const parsed = this.reread(message);
      if (parsed && (await this.applyInbound(parsed, message.seq))) applied++;
    }
    return applied;
  }

  /** Applies messages that arrived before the session knew its Hubject SessionID, oldest first. */
  async applyMessagesFor(session: ChargingSession): Promise<ChargingSession | undefined> {
    if (!session.hubjectSessionId) return undefined;
    const waiting: StoredInboundMessage[] = await this.deps.store.unattachedInbound(session.hubjectSessionId);
    let latest: ChargingSession | undefined;
    for (const message of waiting) {
      const parsed = this.reread(message);
      if (!parsed || !sameEvseId(parsed.ids.evseId, session.evseId)) continue;
      latest = (await this.deps.writer.apply(session.id, parsed.event)) ?? latest;
      await this.deps.store.attachInbound([message.seq], session.id);
    }
    return latest;
  }

  private reread(message: StoredInboundMessage): ParsedInbound | null {
    const read = this.deps.reader.read(message.kind, message.body, message.receivedAt);
    return read.ok ? read.value : null;
  }

  /** Finds (or, for a session started at the charger, creates) the message's session, applies the message, then marks it applied. */
  private async applyInbound(parsed: ParsedInbound, seq: number): Promise<ChargingSession | null> {
    const target = (await this.findSessionFor(parsed)) ?? (await this.sessionStartedAtCharger(parsed));
    if (!target) return null;
    // Apply first, attach second: a crash in between re-applies on recovery, which changes nothing.
    const session = (await this.deps.writer.apply(target.id, parsed.event)) ?? target;
    await this.deps.store.attachInbound([seq], target.id);
    if (target.origin === "CHARGER" && target.version === 1) return (await this.applyMessagesFor(session)) ?? session;
    return session;
  }

  /** SessionID first, then our own EMPPartnerSessionID, then EvseID + EvcoID within a time window (docs/oicp.md#session-flow). */
  private async findSessionFor(parsed: ParsedInbound): Promise<ChargingSession | undefined> {
    const { ids } = parsed;
    const byHubjectId = await this.deps.store.findByHubjectSessionId(ids.hubjectSessionId);
    if (byHubjectId) return byHubjectId;
    if (ids.empPartnerSessionId) {
      const own = await this.deps.store.get(ids.empPartnerSessionId);
      if (own && sameEvseId(own.evseId, ids.evseId) && !own.hubjectSessionId) return own;
    }
    if (ids.evcoId) {
      const since = new Date(parsed.message.receivedAt.getTime() - this.deps.matchWindowMs);
      return this.deps.store.findAwaitingAnswer(ids.evseId, ids.evcoId, since);
    }
    return undefined;
  }

  /**
   * A session the gateway did not start (RFID card or Plug&Charge at the charger) whose contract
   * one of our drivers holds: create it so that the driver's app shows it too (docs/oicp.md#charger-sessions).
   */
  private async sessionStartedAtCharger(parsed: ParsedInbound): Promise<ChargingSession | undefined> {
    const { ids, event } = parsed;
    if (!ids.evcoId) return undefined;
    const driverId = await this.deps.store.driverForContract(ids.evcoId);
    if (!driverId) return undefined;
    const sessionStart = event.type === "CDR_RECEIVED" ? event.cdr.sessionStart : "sessionStart" in event ? event.sessionStart : null;
    const created = await this.deps.writer.create({
      id: randomUUID(),
      driverId,
      origin: "CHARGER",
      hubjectSessionId: ids.hubjectSessionId,
      evseId: ids.evseId,
      evcoId: ids.evcoId,
      partnerProductId: null,
      status: "ACCEPTED",
      requestedAt: sessionStart ?? parsed.message.receivedAt,
    });
    if (!created) return this.deps.store.findByHubjectSessionId(ids.hubjectSessionId); // a concurrent message created it
    this.deps.logger.info(
      { sessionId: created.id, hubjectSessionId: ids.hubjectSessionId, evseId: ids.evseId, evcoId: redactEvcoId(ids.evcoId) },
      "session started at the charger: created for the contract holder",
    );
    return created;
  }
}

/** Seconds from the event at the charger to its arrival here, when the message says when it happened. */
function lagOf(parsed: ParsedInbound): number | null {
  const e = parsed.event;
  const at =
    e.type === "CHARGING_PROGRESS"
      ? e.eventOccurred
      : e.type === "CHARGING_STARTED"
        ? e.chargingStart
        : e.type === "CHARGING_ENDED"
          ? e.chargingEnd
          : e.type === "CDR_RECEIVED"
            ? e.cdr.sessionEnd
            : null;
  return at ? Math.max(0, (parsed.message.receivedAt.getTime() - at.getTime()) / 1000) : null;
}
