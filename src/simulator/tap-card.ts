// The simulated CPO's charger when a driver holds a card to it, scans its QR code or plugs in a
// car (docs/oicp.md#authorize-start). As Hubject does: first offline, against the authentication
// data the EMP pushed; otherwise online, asking the EMP (eRoamingAuthorizeStart) on the SessionID
// Hubject created. Authorized: the charger starts and sends Start, Progress, End and a CDR, which
// name the card. Not authorized: nothing is sent. The same identification at the same charger
// while its session runs stops it (AuthorizeStop; an offline session stops locally, by the same medium).
import { randomUUID } from "node:crypto";
import type { Logger } from "../logger.js";
import { operatorIdOf } from "../oicp/wire/identifiers.js";
import { OICP_API_PREFIX, oicpPaths } from "../oicp/wire/types.js";
import { findSimulatedEvse } from "./catalogue.js";
import type { SimSession, SimulatedCpo } from "./cpo.js";
import { postJson } from "./http.js";
import type { Scheduler } from "./scheduler.js";

/** An OICP Identification as a charger reads it: { RFIDMifareFamilyIdentification: { UID } }, { QRCodeIdentification: { EvcoID, PIN } }, … */
export type PresentedIdentification = Record<string, Record<string, unknown>>;

export interface TapOutcome {
  action: "start" | "stop";
  authorized: boolean;
  /** offline: Hubject's pushed data decided; online: the EMP answered; null: nobody was asked (EVSE busy, no gateway). */
  decidedBy: "offline" | "online" | null;
  statusCode: { Code: string; Description?: string; AdditionalInfo?: string | null } | null;
  /** The SessionID of the session started or stopped; null when nothing started. */
  sessionId: string | null;
  /** The EMP's answer as it came (online), for tests that check it against Hubject's OpenAPI. */
  answer: unknown;
}

/** What the EMP pushed (authentication-data.ts): whether it authorizes an identification, and the contract it charges. */
export interface OfflineAuthorizer {
  authorizeOffline(
    identification: PresentedIdentification,
  ): { authorized: boolean; evcoId: string | null } | Promise<{ authorized: boolean; evcoId: string | null }>;
}

const AUTHORIZE_TIMEOUT_MS = 10_000;

export class ChargerTaps {
  readonly taps: TapOutcome[] = [];

  constructor(
    private readonly deps: {
      cpo: SimulatedCpo;
      scheduler: Scheduler;
      gatewayOicpUrl: () => string | undefined;
      offline: () => OfflineAuthorizer | null;
      logger: Logger;
    },
  ) {}

  async tap(evseId: string, identification: PresentedIdentification): Promise<TapOutcome> {
    const evse = findSimulatedEvse(evseId);
    if (!evse) throw new Error(`simulator: no EVSE ${evseId} in the catalogue`);
    const active = this.deps.cpo.activeSessionAt(evse);
    const outcome = active
      ? sameMedium(active.identification, identification)
        ? await this.stop(active, identification)
        : refused("start", "602", "EVSE already in use")
      : await this.start(evse.evseId, evseId, identification);
    this.taps.push(outcome);
    return outcome;
  }

  private async start(catalogueEvseId: string, evseId: string, identification: PresentedIdentification): Promise<TapOutcome> {
    const evse = findSimulatedEvse(catalogueEvseId)!;
    const offline = await this.deps.offline()?.authorizeOffline(identification);
    if (offline?.authorized) {
      const session = this.deps.cpo.reserve(evse, {
        evseId,
        evcoId: offline.evcoId ?? "",
        identification,
        offline: true,
        empPartnerSessionId: null,
        partnerProductId: null,
      });
      this.deps.cpo.accepted(session);
      return {
        action: "start",
        authorized: true,
        decidedBy: "offline",
        statusCode: { Code: "000" },
        sessionId: session.sessionId,
        answer: null,
      };
    }
    const operatorId = operatorOf(evseId);
    const sessionId = randomUUID();
    const answer = await this.ask(oicpPaths.authorizeStart(operatorId), {
      SessionID: sessionId,
      CPOPartnerSessionID: `TAP-${sessionId.slice(0, 8)}`,
      OperatorID: operatorId,
      EvseID: evseId,
      Identification: identification,
    });
    if (!answer.ok) return { ...refused("start", "106", answer.problem), decidedBy: "online" };
    const body = answer.body as { AuthorizationStatus?: unknown; EMPPartnerSessionID?: unknown; StatusCode?: TapOutcome["statusCode"] };
    if (body.AuthorizationStatus !== "Authorized") {
      return {
        action: "start",
        authorized: false,
        decidedBy: "online",
        statusCode: body.StatusCode ?? null,
        sessionId: null,
        answer: body,
      };
    }
    const session = this.deps.cpo.reserve(evse, {
      sessionId,
      evseId,
      evcoId: evcoIdOf(identification) ?? "",
      identification,
      empPartnerSessionId: typeof body.EMPPartnerSessionID === "string" ? body.EMPPartnerSessionID : null,
      partnerProductId: null,
    });
    this.deps.cpo.accepted(session);
    return { action: "start", authorized: true, decidedBy: "online", statusCode: body.StatusCode ?? null, sessionId, answer: body };
  }

  private async stop(session: SimSession, identification: PresentedIdentification): Promise<TapOutcome> {
    if (!session.offline) {
      const answer = await this.ask(oicpPaths.authorizeStop(session.operatorId), {
        SessionID: session.sessionId,
        CPOPartnerSessionID: session.cpoPartnerSessionId,
        ...(session.empPartnerSessionId ? { EMPPartnerSessionID: session.empPartnerSessionId } : {}),
        OperatorID: session.operatorId,
        EvseID: session.evseId,
        Identification: identification,
      });
      if (!answer.ok) return { ...refused("stop", "106", answer.problem), decidedBy: "online" };
      const body = answer.body as { AuthorizationStatus?: unknown; StatusCode?: TapOutcome["statusCode"] };
      if (body.AuthorizationStatus !== "Authorized") {
        return {
          action: "stop",
          authorized: false,
          decidedBy: "online",
          statusCode: body.StatusCode ?? null,
          sessionId: session.sessionId,
          answer: body,
        };
      }
      this.deps.cpo.stopRequested(session);
      this.deps.cpo.stopAccepted(session);
      return {
        action: "stop",
        authorized: true,
        decidedBy: "online",
        statusCode: body.StatusCode ?? null,
        sessionId: session.sessionId,
        answer: body,
      };
    }
    this.deps.cpo.stopRequested(session);
    this.deps.cpo.stopAccepted(session);
    return {
      action: "stop",
      authorized: true,
      decidedBy: "offline",
      statusCode: { Code: "000" },
      sessionId: session.sessionId,
      answer: null,
    };
  }

  private async ask(path: string, body: unknown): Promise<{ ok: true; body: unknown } | { ok: false; problem: string }> {
    const base = this.deps.gatewayOicpUrl();
    // An EMP that cannot be reached counts as NotAuthorized (docs/oicp.md#authorize-start).
    if (!base) return { ok: false, problem: "no gateway url" };
    try {
      const answer = await postJson(`${base}${OICP_API_PREFIX}/${path}`, body, this.deps.scheduler.signal, AUTHORIZE_TIMEOUT_MS);
      if (answer.status !== 200) return { ok: false, problem: `HTTP ${answer.status}` };
      return { ok: true, body: JSON.parse(answer.text) };
    } catch (error) {
      this.deps.logger.warn(
        { path, problem: error instanceof Error ? error.message : String(error) },
        "simulator: authorization request failed",
      );
      return { ok: false, problem: error instanceof Error ? error.message : String(error) };
    }
  }
}

function refused(action: "start" | "stop", code: string, description: string): TapOutcome {
  return {
    action,
    authorized: false,
    decidedBy: null,
    statusCode: { Code: code, Description: description },
    sessionId: null,
    answer: null,
  };
}

/** The CPO's OperatorID: the EvseID's prefix (DE*ABC*E… -> DE*ABC). */
const operatorOf = (evseId: string): string => operatorIdOf(evseId) ?? evseId;

function evcoIdOf(identification: PresentedIdentification): string | null {
  for (const variant of Object.values(identification)) if (typeof variant.EvcoID === "string") return variant.EvcoID;
  return null;
}

/** The same card (UID, any case) or the same contract. */
function sameMedium(a: Record<string, unknown>, b: PresentedIdentification): boolean {
  const key = (node: Record<string, unknown>): string | null => {
    for (const variant of Object.values(node)) {
      if (typeof variant !== "object" || variant === null) continue;
      const v = variant as Record<string, unknown>;
      if (typeof v.UID === "string") return `UID:${v.UID.toUpperCase()}`;
      if (typeof v.EvcoID === "string") return `EVCO:${v.EvcoID.toUpperCase().replace(/[-*]/g, "")}`;
    }
    return null;
  };
  const ka = key(a);
  return ka !== null && ka === key(b);
}
