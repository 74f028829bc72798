// What Hubject tells us: charging notifications and CDRs. Store before you judge: every message is
// stored as the text it came in, whatever reading makes of it, before anything else happens and
// before it is acknowledged (docs/oicp.md#inbound). Then it is matched to its session
// (docs/oicp.md#session-flow), checked against it (fit.ts) and for figures that cannot be true
// (plausibility.ts), and applied through the one write path. Nothing is dropped: unreadable
// messages, copies, conflicting CDRs and misfits are stored with what became of them.
import { createHash, randomUUID } from "node:crypto";
import { type Logger, redactEvcoId } from "../logger.js";
import { sameEvseId } from "../oicp/wire/identifiers.js";
import { misfit } from "./fit.js";
import { judge } from "./plausibility.js";
import type { ChargerIdentities, Clock, InboundIds, InboundReader, ParsedInbound, SessionMetrics } from "./ports.js";
import type { ChargingSession } from "./session.js";
import type { InboundKind, InboundMessage, InboundSource, InboundState, SessionStore, StoredInboundMessage } from "./session.store.js";
import type { SessionWriter } from "./session-writer.js";

/** A message as it arrived: its kind, its body exactly as sent, who sent it. */
export interface InboundDelivery {
  kind: InboundKind;
  text: string;
  /** The calling CPO's OperatorID from the path (CDRs). */
  operatorId: string | null;
  receivedAt: Date;
  source: InboundSource;
}

export interface InboundOutcome {
  seq: number;
  state: InboundState;
  /** "Start", "Progress", …, "CDR"; null when not even that could be read. */
  type: string | null;
  /** A copy of a message stored before (an identical one, or a CDR that differs from the first). */
  duplicate: boolean;
  /** The session it was applied to; null while it waits for its session, or when it was not applied. */
  session: ChargingSession | null;
  /** Why it was rejected or flagged. */
  problem: string | null;
  /** What the message names, when it could be read (the acknowledgement echoes them). */
  ids: InboundIds | null;
}

export interface InboundMessagesDeps {
  store: SessionStore;
  writer: SessionWriter;
  reader: InboundReader;
  clock: Clock;
  logger: Logger;
  /** Window for the EvseID + EvcoID fallback match (docs/oicp.md#session-flow). */
  matchWindowMs: number;
  metrics?: SessionMetrics;
  /** The registry: who holds a card or contract (sessions authorized without asking us). */
  holders?: ChargerIdentities;
}

type Settled = Pick<InboundOutcome, "state" | "session" | "problem">;

/** The states an operator may have a stored message handled again from (scripts/inbound.ts). */
export const REAPPLIABLE: ReadonlySet<InboundState> = new Set(["rejected", "mismatch"]);

export class InboundMessages {
  constructor(private readonly deps: InboundMessagesDeps) {}

  async receive(delivery: InboundDelivery): Promise<InboundOutcome> {
    const read = this.read(delivery.kind, delivery.text, delivery.receivedAt);
    // An unreadable body is known by the hash of its text; a readable one by the hash of its fields.
    const contentHash = read.ok ? read.value.message.contentHash : textHash(delivery.text);
    if (delivery.source === "backfill") {
      // Hubject does not track what we downloaded: a record the store holds already is not a new message.
      const held = await this.deps.store.inboundWithContent(delivery.kind, contentHash);
      if (held !== undefined) {
        return {
          seq: held,
          state: "duplicate",
          type: read.ok ? read.value.message.type : null,
          duplicate: true,
          session: null,
          problem: null,
          ids: read.ok ? read.value.ids : null,
        };
      }
    }
    if (!read.ok) {
      // What it seems to name (unchecked) helps the operator find it; nothing matches on it.
      const recorded = await this.deps.store.recordInbound({
        ...unread(delivery),
        ...read.names,
        contentHash,
        state: "rejected",
        problem: read.problem,
      });
      const seq = "seq" in recorded ? recorded.seq : recorded.holder.seq;
      this.deps.metrics?.inbound(delivery.kind === "CDR" ? "CDR" : "Notification", "rejected", null);
      this.deps.logger.warn(
        { seq, kind: delivery.kind, problem: read.problem, source: delivery.source },
        "inbound message could not be read: stored as rejected",
      );
      return { seq, state: "rejected", type: read.names?.type ?? null, duplicate: false, session: null, problem: read.problem, ids: null };
    }
    const parsed = read.value;
    const message = readMessage(delivery, parsed);
    const recorded = await this.deps.store.recordInbound(message);
    if ("holder" in recorded) return this.copyOf(recorded.holder, message, parsed);
    for (const anomaly of parsed.message.anomalies) this.deps.metrics?.anomaly(anomaly.kind);
    const settled = await this.settle(recorded.seq, parsed, delivery.operatorId);
    this.deps.metrics?.inbound(parsed.message.type, settled.state, lagOf(parsed));
    return { seq: recorded.seq, type: parsed.message.type, duplicate: false, ids: parsed.ids, ...settled };
  }

  /**
   * Applies stored messages that still wait for their session (after a restart, or a driver seen
   * later). Only a recent window is looked at, so that messages no one can claim (an RFID card
   * of no known driver) do not crowd out newer ones; they stay stored for operators.
   */
  async applyWaitingMessages(receivedAfter: Date, receivedBefore: Date, limit: number): Promise<number> {
    let applied = 0;
    for (const message of await this.deps.store.waitingInboundBetween(receivedAfter, receivedBefore, limit)) {
      const parsed = this.reread(message);
      if (parsed && (await this.settle(message.seq, parsed, message.operatorId)).state === "applied") applied++;
    }
    return applied;
  }

  /** Applies messages that arrived before the session knew its Hubject SessionID, oldest first. */
  async applyMessagesFor(session: ChargingSession): Promise<ChargingSession | undefined> {
    if (!session.hubjectSessionId) return undefined;
    let latest: ChargingSession | undefined;
    for (const message of await this.deps.store.waitingInbound(session.hubjectSessionId)) {
      const parsed = this.reread(message);
      if (!parsed || !sameEvseId(parsed.ids.evseId, session.evseId)) continue;
      const settled = await this.applyTo(message.seq, parsed, latest ?? session, message.operatorId);
      if (settled.session) latest = settled.session;
    }
    return latest;
  }

  /**
   * Handles stored messages again, each like a new delivery, once their cause is fixed: rejected
   * ones are read with today's reader, misfits (mismatch) are matched and fitted again. When the
   * outcome differs, the old row points at the new one; when it is the same, the new row is a
   * copy of the old and the old one stays on the operator's list. Returns the outcomes.
   */
  async reapply(seqs: readonly number[]): Promise<InboundOutcome[]> {
    const outcomes: InboundOutcome[] = [];
    for (const seq of seqs) {
      const stored = await this.deps.store.inbound(seq);
      if (!stored || !REAPPLIABLE.has(stored.state)) continue;
      const outcome = await this.receive({
        kind: stored.kind,
        text: stored.text,
        operatorId: stored.operatorId,
        receivedAt: stored.receivedAt,
        source: stored.source,
      });
      if (outcome.state !== stored.state) {
        await this.deps.store.updateInbound(seq, { state: "duplicate", problem: `re-applied as message ${outcome.seq}` });
      } else {
        await this.deps.store.updateInbound(outcome.seq, {
          state: "duplicate",
          problem: `re-applied from message ${seq}, still ${stored.state}`,
        });
      }
      outcomes.push(outcome);
    }
    return outcomes;
  }

  /** The stored CDR the operator chose stands for its session: its figures replace the first CDR's. */
  async chooseCdr(seq: number): Promise<ChargingSession> {
    const stored = await this.deps.store.inbound(seq);
    if (stored?.kind !== "CDR") throw new Error(`message ${seq} is not a stored CDR`);
    const parsed = this.reread(stored);
    if (parsed?.event.type !== "CDR_RECEIVED") throw new Error(`message ${seq} cannot be read as a CDR`);
    const session = (await this.findSessionFor(parsed)) ?? null;
    if (!session) throw new Error(`no session names SessionID ${parsed.ids.hubjectSessionId}`);
    const judged = judge(parsed.event, this.deps.clock.now(), parsed.meterValuesInBetween);
    if (judged.event?.type !== "CDR_RECEIVED") throw new Error(`message ${seq} has nothing that can be applied`);
    const chosen = await this.deps.writer.apply(session.id, { type: "CDR_CHOSEN", at: this.deps.clock.now(), cdr: judged.event.cdr });
    await this.deps.store.updateInbound(seq, {
      state: "applied",
      sessionId: session.id,
      problem: "chosen by an operator",
      anomalies: [...parsed.message.anomalies, ...judged.anomalies],
    });
    this.deps.logger.info({ seq, sessionId: session.id }, "operator chose which CDR stands");
    return chosen ?? session;
  }

  private read(kind: InboundKind, text: string, receivedAt: Date) {
    try {
      return this.deps.reader.read(kind, text, receivedAt);
    } catch (error) {
      // A reader bug must not cost the message: it is stored as rejected, for re-applying after the fix.
      return { ok: false as const, problem: `the reader failed: ${error instanceof Error ? error.message : String(error)}` };
    }
  }

  private reread(message: StoredInboundMessage): ParsedInbound | null {
    const read = this.read(message.kind, message.text, message.receivedAt);
    return read.ok ? read.value : null;
  }

  /** A message whose dedupe key another stored message holds: an identical copy, or a CDR that differs (conflict). */
  private async copyOf(holder: StoredInboundMessage, message: InboundMessage, parsed: ParsedInbound): Promise<InboundOutcome> {
    const conflict = message.kind === "CDR" && holder.contentHash !== message.contentHash;
    const state: InboundState = conflict ? "conflict" : "duplicate";
    const problem = conflict
      ? `a second CDR for this session that differs from message ${holder.seq}; the first stands until an operator chooses`
      : null;
    const recorded = await this.deps.store.recordInbound({ ...message, dedupeKey: null, state, problem, duplicateOf: holder.seq });
    const seq = "seq" in recorded ? recorded.seq : recorded.holder.seq;
    if (conflict) {
      await this.deps.store.updateInbound(seq, { state, sessionId: holder.sessionId });
      this.deps.logger.warn(
        { seq, first: holder.seq, hubjectSessionId: parsed.ids.hubjectSessionId, sessionId: holder.sessionId },
        "conflicting CDR stored and flagged for the operator",
      );
    }
    this.deps.metrics?.inbound(parsed.message.type, state, lagOf(parsed));
    return { seq, state, type: parsed.message.type, duplicate: true, session: null, problem, ids: parsed.ids };
  }

  /** Finds (or, for a session started at the charger, creates) the message's session and applies the message to it. */
  private async settle(seq: number, parsed: ParsedInbound, pathOperatorId: string | null): Promise<Settled> {
    const target = (await this.findSessionFor(parsed)) ?? (await this.sessionStartedAtCharger(parsed, pathOperatorId));
    if (!target) {
      await this.deps.store.updateInbound(seq, { state: "waiting" });
      this.deps.logger.info(
        { hubjectSessionId: parsed.ids.hubjectSessionId, type: parsed.message.type, evseId: parsed.ids.evseId },
        "inbound message for a session not known yet: kept until its session appears",
      );
      return { state: "waiting", session: null, problem: null };
    }
    const settled = await this.applyTo(seq, parsed, target, pathOperatorId);
    if (settled.session && target.origin === "CHARGER" && target.version === 1) {
      return { ...settled, session: (await this.applyMessagesFor(settled.session)) ?? settled.session };
    }
    return settled;
  }

  /** Applies a message to its session if it fits and its figures can be true; records what became of it. */
  private async applyTo(seq: number, parsed: ParsedInbound, target: ChargingSession, pathOperatorId: string | null): Promise<Settled> {
    const why = misfit(target, parsed, pathOperatorId);
    if (why) {
      // The key is released: the genuine message for this session must still be able to land.
      await this.deps.store.updateInbound(seq, { state: "mismatch", sessionId: target.id, problem: why, releaseDedupeKey: true });
      this.deps.logger.warn(
        { seq, sessionId: target.id, type: parsed.message.type, problem: why },
        "inbound message names a session it does not fit: stored, flagged, not applied",
      );
      return { state: "mismatch", session: null, problem: why };
    }
    const judged = judge(parsed.event, this.deps.clock.now(), parsed.meterValuesInBetween);
    for (const anomaly of judged.anomalies) this.deps.metrics?.anomaly(anomaly.kind);
    // Apply first, mark second: a crash in between re-applies on recovery, which changes nothing.
    const session = judged.event ? ((await this.deps.writer.apply(target.id, judged.event)) ?? target) : target;
    await this.deps.store.updateInbound(seq, {
      state: "applied",
      sessionId: target.id,
      anomalies: [...parsed.message.anomalies, ...judged.anomalies],
    });
    return { state: "applied", session, problem: null };
  }

  /** SessionID first, then our own EMPPartnerSessionID, then EvseID + EvcoID within a time window (docs/oicp.md#session-flow). */
  private async findSessionFor(parsed: ParsedInbound): Promise<ChargingSession | undefined> {
    const { ids } = parsed;
    const byHubjectId = await this.deps.store.findByHubjectSessionId(ids.hubjectSessionId);
    if (byHubjectId) return byHubjectId;
    if (ids.empPartnerSessionId) {
      // Our EMPPartnerSessionIDs are lower-case UUIDs; a CPO may echo one upper-cased.
      const own = await this.deps.store.get(ids.empPartnerSessionId.trim().toLowerCase());
      if (own && sameEvseId(own.evseId, ids.evseId) && !own.hubjectSessionId) return own;
    }
    if (ids.evcoId) {
      const since = new Date(parsed.event.at.getTime() - this.deps.matchWindowMs);
      return this.deps.store.findAwaitingAnswer(ids.evseId, ids.evcoId, since);
    }
    return undefined;
  }

  /**
   * A session the gateway did not start (RFID card or Plug&Charge at the charger) whose contract
   * one of our drivers holds: create it so that the driver's app shows it too (docs/oicp.md#charger-sessions).
   */
  private async sessionStartedAtCharger(parsed: ParsedInbound, pathOperatorId: string | null): Promise<ChargingSession | undefined> {
    const { ids, event } = parsed;
    // The registry first (a card names no contract), then the contracts learnt from drivers' tokens.
    const holder = await this.deps.holders?.holderOf({ uid: ids.uid ?? null, evcoId: ids.evcoId });
    const evcoId = holder?.evcoId ?? ids.evcoId;
    if (!evcoId) return undefined;
    const driverId = holder?.driverId ?? (await this.deps.store.driverForContract(evcoId));
    if (!driverId) return undefined;
    const sessionStart = event.type === "CDR_RECEIVED" ? event.cdr.sessionStart : "sessionStart" in event ? event.sessionStart : null;
    const created = await this.deps.writer.create({
      id: randomUUID(),
      driverId,
      origin: "CHARGER",
      hubjectSessionId: ids.hubjectSessionId,
      evseId: ids.evseId,
      evcoId,
      partnerProductId: null,
      status: "ACCEPTED",
      requestedAt: sessionStart ?? event.at,
      identificationId: holder?.identificationId ?? null,
    });
    if (!created) return this.deps.store.findByHubjectSessionId(ids.hubjectSessionId); // a concurrent message created it
    this.deps.logger.info(
      {
        sessionId: created.id,
        hubjectSessionId: ids.hubjectSessionId,
        evseId: ids.evseId,
        evcoId: redactEvcoId(evcoId),
        operatorId: pathOperatorId,
      },
      "session started at the charger: created for the contract holder",
    );
    return created;
  }
}

function unread(delivery: InboundDelivery): Omit<InboundMessage, "state" | "problem"> {
  return {
    kind: delivery.kind,
    source: delivery.source,
    text: delivery.text,
    operatorId: delivery.operatorId,
    receivedAt: delivery.receivedAt,
    type: null,
    hubjectSessionId: null,
    empPartnerSessionId: null,
    evseId: null,
    evcoId: null,
    dedupeKey: null,
    contentHash: null,
    anomalies: [],
    duplicateOf: null,
  };
}

function readMessage(delivery: InboundDelivery, parsed: ParsedInbound): InboundMessage {
  return {
    ...unread(delivery),
    type: parsed.message.type,
    hubjectSessionId: parsed.ids.hubjectSessionId,
    empPartnerSessionId: parsed.ids.empPartnerSessionId,
    evseId: parsed.ids.evseId,
    evcoId: parsed.ids.evcoId,
    dedupeKey: parsed.message.dedupeKey,
    contentHash: parsed.message.contentHash,
    anomalies: parsed.message.anomalies,
    state: "received",
    problem: null,
  };
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
  return at ? Math.max(0, (e.at.getTime() - at.getTime()) / 1000) : null;
}

const textHash = (text: string): string => createHash("sha256").update(text).digest("hex");
