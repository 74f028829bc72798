// Authorization at the charger (docs/oicp.md#authorize-start): Hubject asks whether a card, a QR
// code or a car of ours may charge (AuthorizeStart) or stop (AuthorizeStop). The answer comes from
// the registry through this replica's cache, never from an upstream call: most RFID requests are
// other EMPs' cards that Hubject broadcasts, and "not mine" must be quick. A yes is confirmed
// against the store (a card blocked a moment ago on another replica is refused), and an authorized
// start creates the driver's session at once.
import type { Logger } from "../logger.js";
import type { Clock } from "../sessions/ports.js";
import type { ChargingSession } from "../sessions/session.js";
import { StoreUnavailableError } from "../sessions/session.store.js";
import { credentialKey, effectiveStatus, type Identification, type IdentificationType, maskUid } from "./identification.js";

/** What a charger presented. RFIDIdentification "must not be used" in authorizations, but a card is a card: read by its UID. */
export type PresentedCredential =
  | { kind: "RFID"; uid: string }
  | { kind: "QR"; evcoId: string; pin: string | null; hashedPin: string | null }
  | { kind: "PNC"; evcoId: string }
  | { kind: "REMOTE"; evcoId: string };

export interface AuthorizeStartRequest {
  hubjectSessionId: string | null;
  operatorId: string;
  evseId: string | null;
  credential: PresentedCredential;
  partnerProductId: string | null;
}

export interface AuthorizeStopRequest {
  hubjectSessionId: string;
  operatorId: string;
  evseId: string | null;
  credential: PresentedCredential;
}

/**
 * Why a request is refused; the OICP listener turns each into its status code (oicp/wire/status-codes.ts).
 * UNKNOWN: not one of ours (most requests). WRONG_PIN: a QR code of ours with the wrong PIN.
 * NOT_FOR_CHARGERS: a RemoteIdentification (app starts go through AuthorizeRemoteStart, never here).
 * SESSION_UNKNOWN / NOT_ALLOWED: a stop for a session we do not know, or by someone who may not stop it.
 * UNAVAILABLE: the store cannot be read (Hubject treats us as NotAuthorized either way).
 */
export type RefusalReason =
  | "UNKNOWN"
  | "BLOCKED"
  | "EXPIRED"
  | "WRONG_PIN"
  | "NOT_FOR_CHARGERS"
  | "SESSION_UNKNOWN"
  | "NOT_ALLOWED"
  | "UNAVAILABLE";

export type AuthorizationDecision =
  | {
      authorized: true;
      identification: Identification;
      /** The driver's session (its id is our EMPPartnerSessionID); null when the request named no EVSE to start it at. */
      session: ChargingSession | null;
      /** Who may stop the session at the charger (AuthorizationStopIdentifications). */
      stopIdentifications: Identification[];
    }
  | { authorized: false; reason: RefusalReason; credential: PresentedCredential["kind"] | null; detail: string };

/** The registry as authorizations use it (registry.ts). */
export interface IdentificationLookup {
  find(credentialKey: string): Promise<Identification | null>;
  /** Straight from the store, past every cache: what a yes is confirmed against. */
  identification(id: string): Promise<Identification | undefined>;
  verifyPin(identification: Identification, pin: string): Promise<boolean>;
}

/** The sessions side (sessions/charger-sessions.ts). */
export interface ChargerSessionsPort {
  authorizedStart(start: {
    driverId: string;
    evcoId: string;
    evseId: string;
    hubjectSessionId: string | null;
    identificationId: string;
    partnerProductId: string | null;
    at: Date;
  }): Promise<{ ok: true; session: ChargingSession; created: boolean } | { ok: false; problem: string }>;
  stopAuthorized(session: ChargingSession, identificationId: string, at: Date): Promise<ChargingSession>;
  sessionByHubjectId(hubjectSessionId: string): Promise<ChargingSession | undefined>;
}

export interface AuthorizationMetrics {
  authorization(operation: "start" | "stop", result: "authorized" | RefusalReason): void;
}

const TYPES_FOR: Record<PresentedCredential["kind"], readonly IdentificationType[]> = {
  RFID: ["RFID_MIFARE_FAMILY", "RFID"],
  QR: ["QR_CODE"],
  PNC: ["PLUG_AND_CHARGE"],
  REMOTE: [],
};

export class AuthorizationService {
  constructor(
    private readonly deps: {
      identifications: IdentificationLookup;
      sessions: ChargerSessionsPort;
      clock: Clock;
      logger: Logger;
      metrics?: AuthorizationMetrics;
    },
  ) {}

  async authorizeStart(request: AuthorizeStartRequest): Promise<AuthorizationDecision> {
    const decision = await this.guarded("start", async () => {
      const found = await this.identify(request.credential);
      if (!found.ok) return found.refusal;
      const identification = found.identification;
      let session: ChargingSession | null = null;
      if (request.evseId) {
        const started = await this.deps.sessions.authorizedStart({
          driverId: identification.driverId,
          evcoId: identification.evcoId,
          evseId: request.evseId,
          hubjectSessionId: request.hubjectSessionId,
          identificationId: identification.id,
          partnerProductId: request.partnerProductId,
          at: this.deps.clock.now(),
        });
        if (!started.ok) return refuse("NOT_ALLOWED", request.credential, started.problem);
        session = started.session;
      }
      // Without an EVSE there is nothing to show yet: the session is created from the first
      // notification or the CDR, which find the driver by the same identification.
      return { authorized: true as const, identification, session, stopIdentifications: [identification] };
    });
    this.log("start", request.credential, decision, {
      evseId: request.evseId,
      operatorId: request.operatorId,
      hubjectSessionId: request.hubjectSessionId,
    });
    return decision;
  }

  async authorizeStop(request: AuthorizeStopRequest): Promise<AuthorizationDecision> {
    const decision = await this.guarded("stop", async () => {
      const session = await this.deps.sessions.sessionByHubjectId(request.hubjectSessionId);
      if (!session) return refuse("SESSION_UNKNOWN", request.credential, "no session of ours has this SessionID");
      const found = await this.identify(request.credential);
      if (!found.ok) return found.refusal;
      // An active identification of the session's driver may stop it: the card that started it,
      // or another of the same driver's (a second card, the QR code on the charger).
      if (found.identification.driverId !== session.driverId) {
        return refuse("NOT_ALLOWED", request.credential, "the identification belongs to another driver than the session's");
      }
      const stopped = await this.deps.sessions.stopAuthorized(session, found.identification.id, this.deps.clock.now());
      return { authorized: true as const, identification: found.identification, session: stopped, stopIdentifications: [] };
    });
    this.log("stop", request.credential, decision, {
      evseId: request.evseId,
      operatorId: request.operatorId,
      hubjectSessionId: request.hubjectSessionId,
    });
    return decision;
  }

  /** The active identification of ours that the credential names, or why there is none. */
  private async identify(
    credential: PresentedCredential,
  ): Promise<{ ok: true; identification: Identification } | { ok: false; refusal: AuthorizationDecision }> {
    if (credential.kind === "REMOTE") {
      return {
        ok: false,
        refusal: refuse("NOT_FOR_CHARGERS", credential, "a RemoteIdentification is for remote starts, not for the charger"),
      };
    }
    const types = TYPES_FOR[credential.kind];
    const key = credentialKey(types[0]!, credential.kind === "RFID" ? { uid: credential.uid } : { evcoId: credential.evcoId });
    const cached = key ? await this.deps.identifications.find(key) : null;
    if (!cached || !types.includes(cached.type))
      return { ok: false, refusal: refuse("UNKNOWN", credential, "not an identification of ours") };
    // A yes is never given from memory alone: the store says whether it is still active.
    const identification = cached.status === "ACTIVE" ? await this.deps.identifications.identification(cached.id) : cached;
    if (!identification) return { ok: false, refusal: refuse("UNKNOWN", credential, "not an identification of ours") };
    const status = effectiveStatus(identification, this.deps.clock.now());
    if (status === "BLOCKED")
      return {
        ok: false,
        refusal: refuse("BLOCKED", credential, `blocked by ${identification.blockedBy === "DRIVER" ? "the driver" : "the EMP"}`),
      };
    if (status === "EXPIRED") return { ok: false, refusal: refuse("EXPIRED", credential, "the identification has expired") };
    if (credential.kind === "QR") {
      const ok =
        credential.hashedPin !== null
          ? identification.pinHash !== null && credential.hashedPin === identification.pinHash
          : credential.pin !== null && (await this.deps.identifications.verifyPin(identification, credential.pin));
      if (!ok) return { ok: false, refusal: refuse("WRONG_PIN", credential, "the PIN does not match") };
    }
    return { ok: true, identification };
  }

  /** A store that cannot be reached answers NotAuthorized (Hubject would count silence the same), never an error. */
  private async guarded(operation: "start" | "stop", decide: () => Promise<AuthorizationDecision>): Promise<AuthorizationDecision> {
    try {
      const decision = await decide();
      this.deps.metrics?.authorization(operation, decision.authorized ? "authorized" : decision.reason);
      return decision;
    } catch (error) {
      if (!(error instanceof StoreUnavailableError)) throw error;
      this.deps.metrics?.authorization(operation, "UNAVAILABLE");
      this.deps.logger.warn({ err: error.message, operation }, "authorization answered NotAuthorized: the store is unavailable");
      return { authorized: false, reason: "UNAVAILABLE", credential: null, detail: "the EMP cannot check identifications right now" };
    }
  }

  private log(
    operation: "start" | "stop",
    credential: PresentedCredential,
    decision: AuthorizationDecision,
    fields: Record<string, unknown>,
  ) {
    const who = { credential: credential.kind, uid: credential.kind === "RFID" ? maskUid(credential.uid) : null };
    if (decision.authorized) {
      this.deps.logger.info(
        { ...fields, ...who, identificationId: decision.identification.id, sessionId: decision.session?.id ?? null },
        `authorize ${operation}: authorized`,
      );
    } else if (decision.reason === "UNKNOWN") {
      // Most requests: other EMPs' cards. Debug only, or the log is the broadcast.
      this.deps.logger.debug({ ...fields, ...who }, `authorize ${operation}: not ours`);
    } else {
      this.deps.logger.info({ ...fields, ...who, reason: decision.reason, detail: decision.detail }, `authorize ${operation}: refused`);
    }
  }
}

function refuse(reason: RefusalReason, credential: PresentedCredential | null, detail: string): AuthorizationDecision {
  return { authorized: false, reason, credential: credential?.kind ?? null, detail };
}
