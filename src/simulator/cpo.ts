// The simulated CPO behind the simulated Hubject: its session table, its charging timeline and
// the messages it pushes to the gateway's inbound OICP listener (docs/oicp.md#inbound, #session-flow).
import { randomUUID } from "node:crypto";
import { DEFAULTS } from "../config/defaults.js";
import type { Logger } from "../logger.js";
import { operatorIdOf } from "../oicp/wire/identifiers.js";
import {
  OICP_API_PREFIX,
  type OicpChargeDetailRecord,
  type OicpChargingNotification,
  type OicpChargingNotificationType,
  oicpPaths,
} from "../oicp/wire/types.js";
import { SIMULATED_EVSES, SIMULATED_OPERATOR_ID, type SimulatedEvse } from "./catalogue.js";
import type { CpoFaults } from "./faults.js";
import { cpoTimestamp, kWh } from "./format.js";
import { postJson } from "./http.js";
import type { Cancel, Scheduler } from "./scheduler.js";

export interface SimulatorPace {
  /** How long "Hubject+CPO" take to answer a normal remote start/stop. */
  answerDelayMs: number;
  /** Answer delay for the slow EVSE. */
  slowAnswerMs: number;
  /** Accept -> Start notification. */
  startDelayMs: number;
  /** Between Progress notifications (real HBS: at least 5 min, docs/oicp.md#notifications). */
  progressIntervalMs: number;
  /** Stop accepted -> End notification. */
  stopDelayMs: number;
  /** End -> CDR (a real CPO: about 1 s, docs/oicp.md#session-flow). */
  cdrDelayMs: number;
  /** The CPO ends the session by itself (driver unplugs) this long after ChargingStart; null = never. */
  autoStopAfterMs: number | null;
  /** What the car draws, capped by the EVSE's own power. */
  powerKw: number;
  /** Energy accelerator: energy = power * real elapsed hours * timeScale. Durations stay real. */
  timeScale: number;
}

/** Defaults in config/defaults.ts (SIMULATOR_* set three of them). */
export const DEFAULT_PACE: Readonly<SimulatorPace> = DEFAULTS.simulatorPace;

export interface Delivery {
  kind: "NOTIFICATION" | "CDR";
  type: string;
  sessionId: string;
  url: string;
  body: unknown;
  httpStatus: number | null;
  ack: unknown;
  error: string | null;
}

export interface StoredCdr {
  record: OicpChargeDetailRecord;
  operatorId: string;
  chargingEnd: Date;
  /** True once the gateway acknowledged it with Result:true (GetChargeDetailRecords CDRForwarded, docs/oicp.md#get-cdrs). */
  forwarded: boolean;
}

type SessionState = "authorized" | "charging" | "stopping" | "ended";

export interface SimSession {
  readonly sessionId: string;
  readonly cpoPartnerSessionId: string;
  readonly empPartnerSessionId: string | null;
  readonly evse: SimulatedEvse;
  /** Exactly as the EMP sent it (docs/oicp.md#identifiers: send EvseIDs as received). */
  readonly evseId: string;
  readonly operatorId: string;
  readonly evcoId: string;
  /** What every message names as the session's Identification. */
  readonly identification: Record<string, unknown>;
  readonly offline: boolean;
  readonly partnerProductId: string | null;
  readonly sessionStart: Date;
  state: SessionState;
  chargingStart?: Date;
  meterStartWh: number;
  readonly inBetweenWh: number[];
  endScheduled: boolean;
  /** Timers of this session that a stop or an end must cancel. */
  readonly pending: Set<Cancel>;
  /** Messages of one session leave one after another: a Progress never overtakes its Start. */
  outbox: Promise<void>;
  /** The CPO faults in force when the session was reserved; setCpoFaults only affects later sessions. */
  readonly faults: Readonly<CpoFaults>;
  /** Resolves once the first message (Start or Error) was delivered, or the session ended (notificationsBeforeAnswer). */
  readonly started: Promise<void>;
  readonly resolveStarted: (after: Promise<void>) => void;
  /** reorderDeliveries: an odd Progress waiting for the next one, and the End waiting for the CDR. */
  heldProgress: OicpChargingNotification | null;
  heldEnd: OicpChargingNotification | null;
}

export interface StartRequest {
  evseId: string;
  evcoId: string;
  /** A session authorized at the charger: the SessionID Hubject made for it, and the card or car it names (default: the remote contract). */
  sessionId?: string;
  identification?: Record<string, unknown>;
  /** Authorized by Hubject from pushed data: only the same medium stops it (docs/oicp.md#authorize-start). */
  offline?: boolean;
  empPartnerSessionId: string | null;
  partnerProductId: string | null;
}

/** Hubject's own timeout for calls to the EMP is undocumented (docs/oicp.md#hubject-retries); 10 s is our guess. */
const DELIVERY_TIMEOUT_MS = 10_000;

/** Idle/blocking fees start this long after ChargingEnd (PenaltyTimeStart, docs/oicp.md#energy-and-time). */
const PENALTY_GRACE_MS = 30 * 60_000;

export interface CpoDeps {
  scheduler: Scheduler;
  pace: () => SimulatorPace;
  gatewayOicpUrl: () => string | undefined;
  /** Read when a session is reserved. */
  faults: () => Readonly<CpoFaults>;
  logger: Logger;
}

export class SimulatedCpo {
  readonly deliveries: Delivery[] = [];
  readonly cdrs: StoredCdr[] = [];
  private readonly sessions = new Map<string, SimSession>();
  private readonly activeByEvse = new Map<string, SimSession>();
  /** Absolute meter readings per EVSE in Wh; they only grow, across sessions. */
  private readonly meterWh = new Map<string, number>(SIMULATED_EVSES.map((evse, i) => [evse.evseId, 1_234_567 + i * 1_000_000]));
  private cpoSessionCounter = 0;

  constructor(private readonly deps: CpoDeps) {}

  session(sessionId: string): SimSession | undefined {
    return this.sessions.get(sessionId);
  }

  findByEmpPartnerSessionId(empPartnerSessionId: string): SimSession | undefined {
    for (const session of this.sessions.values()) {
      if (session.empPartnerSessionId === empPartnerSessionId) return session;
    }
    return undefined;
  }

  activeSessionAt(evse: SimulatedEvse): SimSession | undefined {
    return this.activeByEvse.get(evse.evseId);
  }

  /** Hubject creates the SessionID (docs/oicp.md#remote-start) and the EVSE is taken from here on. */
  reserve(evse: SimulatedEvse, request: StartRequest): SimSession {
    let resolveStarted: (after: Promise<void>) => void = () => {};
    const started = new Promise<void>((resolve) => (resolveStarted = resolve));
    const session: SimSession = {
      sessionId: request.sessionId ?? randomUUID(),
      cpoPartnerSessionId: `SIM-${String(++this.cpoSessionCounter).padStart(6, "0")}`,
      empPartnerSessionId: request.empPartnerSessionId,
      evse,
      evseId: request.evseId,
      operatorId: operatorIdOf(request.evseId) ?? SIMULATED_OPERATOR_ID,
      evcoId: request.evcoId,
      identification: request.identification ?? { RemoteIdentification: { EvcoID: request.evcoId } },
      offline: request.offline ?? false,
      partnerProductId: request.partnerProductId,
      sessionStart: new Date(),
      state: "authorized",
      meterStartWh: this.meterWh.get(evse.evseId) ?? 0,
      inBetweenWh: [],
      endScheduled: false,
      pending: new Set(),
      outbox: Promise.resolve(),
      faults: { ...this.deps.faults() },
      started,
      resolveStarted,
      heldProgress: null,
      heldEnd: null,
    };
    this.sessions.set(session.sessionId, session);
    this.activeByEvse.set(evse.evseId, session);
    return session;
  }

  /** The CPO's answer went out: the charger starts (or fails at the connector) a little later. */
  accepted(session: SimSession): void {
    if (session.state !== "authorized") return; // stopped before the answer was even sent
    this.later(session, this.deps.pace().startDelayMs, () =>
      session.evse.behaviour === "connector-error" ? this.failAtConnector(session) : this.beginCharging(session),
    );
  }

  /**
   * notificationsBeforeAnswer: the charger starts while the CPO's answer is still pending. Resolves
   * once the Start (or Error) was delivered and acknowledged, or the session ended, so that the
   * answer can go out after it (docs/oicp.md#early-messages).
   */
  startBeforeAnswer(session: SimSession): Promise<void> {
    this.accepted(session);
    return session.started;
  }

  /** A stop request arrived: no more Start or Progress; the End follows once the stop is answered. */
  stopRequested(session: SimSession): void {
    if (session.state === "ended") return;
    this.cancelPending(session);
    session.state = "stopping";
  }

  /** The stop answer went out. */
  stopAccepted(session: SimSession): void {
    if (session.state === "ended" || session.endScheduled) return;
    session.endScheduled = true;
    this.later(session, this.deps.pace().stopDelayMs, () => this.endCharging(session));
  }

  private beginCharging(session: SimSession): void {
    const pace = this.deps.pace();
    session.state = "charging";
    session.chargingStart = new Date();
    this.notify(session, "Start", {});
    this.markStarted(session);
    this.scheduleProgress(session);
    if (pace.autoStopAfterMs !== null) this.later(session, pace.autoStopAfterMs, () => this.endCharging(session));
  }

  private scheduleProgress(session: SimSession): void {
    this.later(session, this.deps.pace().progressIntervalMs, () => {
      if (session.state !== "charging" || !session.chargingStart) return;
      const now = new Date();
      const energyWh = this.energyWh(session, now);
      session.inBetweenWh.push(session.meterStartWh + energyWh);
      this.notify(session, "Progress", {
        EventOccurred: cpoTimestamp(now),
        // CPO definition: EventOccurred − ChargingStart in ms (docs/oicp.md#e12).
        ChargingDuration: now.getTime() - session.chargingStart.getTime(),
        ConsumedEnergyProgress: kWh(energyWh),
        MeterValueInBetween: { meterValues: session.inBetweenWh.map(kWh) },
      });
      this.scheduleProgress(session);
    });
  }

  /** Energy flow stops (stop request or the driver unplugs); the CDR follows (docs/oicp.md#session-flow). */
  private endCharging(session: SimSession): void {
    if (session.state === "ended") return;
    this.cancelPending(session);
    const now = new Date();
    // A stop before the Start notification: nothing flowed, the CPO still closes the session.
    session.chargingStart ??= now;
    const meterEndWh = session.meterStartWh + this.energyWh(session, now);
    this.release(session);
    this.meterWh.set(session.evse.evseId, meterEndWh);
    const timeline = {
      chargingEnd: now,
      // The simulated driver unplugs at once, so the session ends with the energy flow.
      sessionEnd: now,
      consumedWh: meterEndWh - session.meterStartWh,
      meterEndWh,
    };
    this.notify(session, "End", {
      ChargingEnd: cpoTimestamp(timeline.chargingEnd),
      SessionEnd: cpoTimestamp(timeline.sessionEnd),
      ConsumedEnergy: kWh(timeline.consumedWh),
      MeterValueEnd: kWh(meterEndWh),
      MeterValueInBetween: { meterValues: session.inBetweenWh.map(kWh) },
      PenaltyTimeStart: cpoTimestamp(new Date(now.getTime() + PENALTY_GRACE_MS)),
    });
    this.markStarted(session); // a stop before the Start: an answer still waiting must go out
    // Not tied to session.pending: nothing may cancel a CDR once energy has flowed.
    this.deps.scheduler.after(this.deps.pace().cdrDelayMs, () => this.sendCdr(session, timeline));
  }

  /** Error before charging: the plug was not connected; the authorization is released. */
  private failAtConnector(session: SimSession): void {
    if (session.state === "ended") return;
    this.cancelPending(session);
    this.release(session);
    this.notify(session, "Error", {
      ErrorType: "ConnectorError",
      ErrorAdditionalInfo: "No vehicle connected within 120 s after remote start; authorization released",
    });
    this.markStarted(session);
  }

  private sendCdr(session: SimSession, t: { chargingEnd: Date; sessionEnd: Date; consumedWh: number; meterEndWh: number }): void {
    const record: OicpChargeDetailRecord = {
      SessionID: session.sessionId,
      CPOPartnerSessionID: session.cpoPartnerSessionId,
      EMPPartnerSessionID: copiedEmpPartnerSessionId(session),
      PartnerProductID: session.partnerProductId,
      EvseID: session.evseId,
      Identification: session.identification,
      SessionStart: cpoTimestamp(session.sessionStart),
      ChargingStart: cpoTimestamp(session.chargingStart ?? t.chargingEnd),
      ChargingEnd: cpoTimestamp(t.chargingEnd),
      SessionEnd: cpoTimestamp(t.sessionEnd),
      MeterValueStart: kWh(session.meterStartWh),
      MeterValueEnd: kWh(t.meterEndWh),
      MeterValueInBetween: { meterValues: session.inBetweenWh.map(kWh) },
      ConsumedEnergy: kWh(t.consumedWh),
      HubOperatorID: null,
      HubProviderID: null,
    };
    // Hubject stores the CDR even when it cannot deliver it (docs/oicp.md#hubject-retries), so store first.
    const stored: StoredCdr = { record, operatorId: session.operatorId, chargingEnd: t.chargingEnd, forwarded: false };
    this.cdrs.push(stored);
    // suppressCdrDelivery: Hubject keeps it for GetChargeDetailRecords CDRForwarded:false (docs/oicp.md#hubject-retries).
    if (!session.faults.suppressCdrDelivery) {
      const path = oicpPaths.chargeDetailRecord(session.operatorId, "v22");
      void this.enqueue(session, async () => {
        const deliveries = await this.deliverCopies(session, "CDR", "ChargeDetailRecord", path, record);
        // With duplicateDeliveries one positive ack is enough.
        stored.forwarded = deliveries.some((delivery) => delivery.httpStatus === 200 && isPositiveAck(delivery.ack));
      });
    }
    this.releaseHeld(session);
  }

  /**
   * reorderDeliveries, at the CDR: the held End goes out after it (an End after the CDR), then a
   * Progress that never got its pair (a Progress after End and CDR). Both are docs/oicp.md#out-of-order.
   */
  private releaseHeld(session: SimSession): void {
    for (const held of [session.heldEnd, session.heldProgress]) {
      if (held) this.sendNotification(session, held);
    }
    session.heldEnd = null;
    session.heldProgress = null;
  }

  private notify(session: SimSession, type: OicpChargingNotificationType, fields: Partial<OicpChargingNotification>): void {
    // Notifications are optional for a CPO (docs/oicp.md#optional-notifications).
    if (session.faults.suppressNotifications) return;
    const body: OicpChargingNotification = {
      Type: type,
      SessionID: session.sessionId,
      CPOPartnerSessionID: session.cpoPartnerSessionId,
      EMPPartnerSessionID: copiedEmpPartnerSessionId(session),
      Identification: session.identification,
      EvseID: session.evseId,
      OperatorID: session.operatorId,
      ...(type === "Error"
        ? {}
        : {
            SessionStart: cpoTimestamp(session.sessionStart),
            ChargingStart: session.chargingStart ? cpoTimestamp(session.chargingStart) : null,
            MeterValueStart: kWh(session.meterStartWh),
            PartnerProductID: session.partnerProductId,
          }),
      ...fields,
    };
    if (session.faults.reorderDeliveries && type === "Progress") {
      // Deterministic pairs: hold the 1st, then send the 2nd and the 1st; the same for 3rd/4th...
      const older = session.heldProgress;
      if (!older) {
        session.heldProgress = body;
        return;
      }
      session.heldProgress = null;
      this.sendNotification(session, body);
      this.sendNotification(session, older);
      return;
    }
    if (session.faults.reorderDeliveries && type === "End") {
      session.heldEnd = body; // released by sendCdr
      return;
    }
    this.sendNotification(session, body);
  }

  private sendNotification(session: SimSession, body: OicpChargingNotification): void {
    const path = oicpPaths.chargingNotifications();
    void this.enqueue(session, () => this.deliverCopies(session, "NOTIFICATION", body.Type, path, body));
  }

  /** Resolves session.started once everything queued so far has been delivered. */
  private markStarted(session: SimSession): void {
    session.resolveStarted(session.outbox);
  }

  private enqueue(session: SimSession, send: () => Promise<unknown>): Promise<void> {
    session.outbox = session.outbox.then(send).then(
      () => undefined,
      () => undefined,
    );
    return this.deps.scheduler.track(session.outbox);
  }

  /** duplicateDeliveries: the same body twice, back to back, each recorded (docs/oicp.md#duplicates). */
  private async deliverCopies(session: SimSession, kind: Delivery["kind"], type: string, path: string, body: unknown): Promise<Delivery[]> {
    const copies = session.faults.duplicateDeliveries ? 2 : 1;
    const deliveries: Delivery[] = [];
    for (let i = 0; i < copies; i++) deliveries.push(await this.deliver(kind, type, session.sessionId, path, body));
    return deliveries;
  }

  /** Posts one message; records it whatever happens. Hubject does not retry (docs/oicp.md#hubject-retries). */
  private async deliver(kind: Delivery["kind"], type: string, sessionId: string, path: string, body: unknown): Promise<Delivery> {
    const base = this.deps.gatewayOicpUrl();
    const delivery: Delivery = {
      kind,
      type,
      sessionId,
      url: base ? `${base}${OICP_API_PREFIX}/${path}` : "",
      body,
      httpStatus: null,
      ack: null,
      error: null,
    };
    if (!base) {
      delivery.error = "no gateway url";
    } else {
      try {
        const answer = await postJson(delivery.url, body, this.deps.scheduler.signal, DELIVERY_TIMEOUT_MS);
        delivery.httpStatus = answer.status;
        delivery.ack = parseJsonOr(answer.text);
        if (answer.status !== 200) delivery.error = `HTTP ${answer.status}`;
      } catch (error) {
        delivery.error = error instanceof Error ? error.message : String(error);
      }
    }
    this.deliveries.push(delivery);
    const log = { kind, type, sessionId, url: delivery.url, httpStatus: delivery.httpStatus, error: delivery.error };
    if (delivery.error) this.deps.logger.warn(log, "simulator: delivery to gateway failed");
    else this.deps.logger.debug(log, "simulator: delivered");
    return delivery;
  }

  private energyWh(session: SimSession, at: Date): number {
    if (!session.chargingStart) return 0;
    const pace = this.deps.pace();
    const hours = (at.getTime() - session.chargingStart.getTime()) / 3_600_000;
    const kw = Math.min(pace.powerKw, session.evse.powerKw);
    return Math.max(0, Math.round(kw * 1000 * hours * pace.timeScale));
  }

  private later(session: SimSession, ms: number, fn: () => void): void {
    const cancel = this.deps.scheduler.after(ms, () => {
      session.pending.delete(cancel);
      fn();
    });
    session.pending.add(cancel);
  }

  private cancelPending(session: SimSession): void {
    for (const cancel of session.pending) cancel();
    session.pending.clear();
  }

  private release(session: SimSession): void {
    session.state = "ended";
    if (this.activeByEvse.get(session.evse.evseId) === session) this.activeByEvse.delete(session.evse.evseId);
  }
}

/** Only the SessionID is sure to link the CPO's messages (docs/oicp.md#session-flow, #q2). */
function copiedEmpPartnerSessionId(session: SimSession): string | null {
  return session.faults.copyEmpPartnerSessionId ? session.empPartnerSessionId : null;
}

function parseJsonOr(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function isPositiveAck(ack: unknown): boolean {
  return typeof ack === "object" && ack !== null && (ack as { Result?: unknown }).Result === true;
}
