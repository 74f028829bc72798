// The embedded Hubject: a real HTTP server answering the EMP-side OICP endpoints like HBS
// (FACTS.md §2), with a simulated CPO behind it that pushes notifications and CDRs to the
// gateway's inbound listener (FACTS.md §3). Used by `npm start` without HUBJECT_BASE_URL and by tests.
import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Logger } from "../logger.js";
import {
  EVCO_ID,
  EVSE_ID,
  PARTNER_SESSION_ID_MAX,
  PRODUCT_ID_MAX,
  PROVIDER_ID,
  SESSION_ID,
  sameEvseId,
} from "../oicp/identifiers.js";
import { OICP_API_PREFIX, oicpPaths, type OicpAcknowledgement, type OicpEvseStatus } from "../oicp/wire.js";
import { SIMULATED_EVSES, findSimulatedEvse, type SimulatedEvse } from "./catalogue.js";
import { DEFAULT_PACE, SimulatedCpo, type Delivery, type SimSession, type SimulatorPace } from "./cpo.js";
import { readBody, sendJson } from "./http.js";
import { Scheduler } from "./scheduler.js";

export { SIMULATED_EVSES, type SimulatedEvse } from "./catalogue.js";
export { DEFAULT_PACE, type Delivery, type SimulatorPace } from "./cpo.js";

export interface SimulatorOptions {
  providerId: string;
  host?: string;
  port?: number;
  gatewayOicpUrl?: string;
  pace?: Partial<SimulatorPace>;
  logger?: Logger;
}

export interface RecordedCall {
  operation: "AuthorizeRemoteStart" | "AuthorizeRemoteStop" | "PullEvseStatusById" | "GetChargeDetailRecords" | "Unknown";
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  receivedAt: Date;
}

export interface HubjectSimulator {
  /** What the gateway uses as HUBJECT_BASE_URL: "http://127.0.0.1:PORT/api/oicp". */
  readonly url: string;
  readonly catalogue: readonly SimulatedEvse[];
  readonly calls: readonly RecordedCall[];
  readonly deliveries: readonly Delivery[];
  callsTo(operation: RecordedCall["operation"]): RecordedCall[];
  /**
   * The SessionID the simulated Hubject created for a remote start, known as soon as the request
   * arrived (before a slow answer goes out). Lets tests play a CPO whose messages beat the answer.
   */
  hubjectSessionIdFor(empPartnerSessionId: string): string | undefined;
  /** Base URL of the gateway's OICP listener (+ Service URL path); "/api/oicp/..." is appended (FACTS.md §3). */
  setGatewayOicpUrl(url: string): void;
  setPace(pace: Partial<SimulatorPace>): void;
  /**
   * Resolves when no CPO message is scheduled or in flight (answers to pending requests count too).
   * While a session is charging its next Progress is always scheduled, so this waits for the
   * session to end (stop request or autoStopAfterMs), or for close().
   */
  idle(): Promise<void>;
  /** Stops every timer, aborts deliveries in flight and closes the server. */
  close(): Promise<void>;
}

type Operation = RecordedCall["operation"];

interface Context {
  res: ServerResponse;
  body: Record<string, unknown>;
  query: URLSearchParams;
}

interface Route {
  operation: Operation;
  pattern: RegExp;
  handle: (ctx: Context) => void;
}

interface FieldError {
  fieldReference: string;
  errorMessage: string;
}

/** Builds a matcher from the single source of paths in wire.ts; the one group captures the ProviderID. */
function routePattern(path: (providerId: string) => string): RegExp {
  const marker = "__PROVIDER__";
  const escaped = `${OICP_API_PREFIX}/${path(marker)}`.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^${escaped.replace(marker, "([^/]+)")}$`);
}

const ack = (
  code: string,
  description: string,
  ids: { SessionID?: string | null; CPOPartnerSessionID?: string | null; EMPPartnerSessionID?: string | null } = {},
): OicpAcknowledgement => ({
  Result: code === "000",
  StatusCode: { Code: code, Description: description, AdditionalInfo: null },
  SessionID: ids.SessionID ?? null,
  CPOPartnerSessionID: ids.CPOPartnerSessionID ?? null,
  EMPPartnerSessionID: ids.EMPPartnerSessionID ?? null,
});

/** HTTP 400 from Hubject is not OICP-shaped (FACTS.md §5, example 19). */
const sendValidationError = (res: ServerResponse, errors: FieldError[]) =>
  sendJson(res, 400, { message: "Error parsing/validating JSON.", extendedInfo: null, validationErrors: errors });

/** Certificate and ProviderID disagree: 017 over HTTP 401 (FACTS.md §1, example 20). */
const sendUnauthorized = (res: ServerResponse) =>
  sendJson(res, 401, { StatusCode: { Code: "017", Description: "Unauthorized Access", AdditionalInfo: null } });

const sendNotFound = (res: ServerResponse) =>
  sendJson(res, 404, { StatusCode: { Code: "300", Description: "Not found", AdditionalInfo: null }, message: "Data not found" });

const mustMatch = (pattern: RegExp) => `must match "${pattern.source}"`;

/** Collects Hubject-style field errors; fieldReference uses Hubject's camelCase (example 19). */
class Checks {
  readonly errors: FieldError[] = [];

  required(value: unknown, ref: string, pattern?: RegExp): value is string {
    if (value === undefined || value === null) return this.fail(ref, "must not be null");
    if (typeof value !== "string") return this.fail(ref, "must be a string");
    if (pattern && !pattern.test(value)) return this.fail(ref, mustMatch(pattern));
    return true;
  }

  optional(value: unknown, ref: string, maxLength: number): void {
    if (value === undefined || value === null) return;
    if (typeof value !== "string") this.fail(ref, "must be a string");
    else if (value.length > maxLength) this.fail(ref, `size must be between 0 and ${maxLength}`);
  }

  fail(fieldReference: string, errorMessage: string): false {
    this.errors.push({ fieldReference, errorMessage });
    return false;
  }
}

const asRecord = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

const optionalString = (value: unknown): string | null => (typeof value === "string" ? value : null);

/** An OICP date-time must carry an offset (FACTS.md §4). */
const parseOicpDate = (value: unknown): Date | null =>
  typeof value === "string" && /T.*(Z|[+-]\d{2}:\d{2})$/.test(value) && !Number.isNaN(Date.parse(value)) ? new Date(value) : null;

export async function startSimulator(options: SimulatorOptions): Promise<HubjectSimulator> {
  const logger = options.logger ?? createLogger({ name: "hubject-simulator" });
  const scheduler = new Scheduler((error) => logger.error({ err: error }, "simulator: scheduled step failed"));
  let pace: SimulatorPace = { ...DEFAULT_PACE, ...options.pace };
  let gatewayOicpUrl = options.gatewayOicpUrl?.replace(/\/+$/, "");
  const calls: RecordedCall[] = [];
  const cpo = new SimulatedCpo({ scheduler, pace: () => pace, gatewayOicpUrl: () => gatewayOicpUrl, logger });

  /** Answers after a delay, like a round trip through Hubject to the CPO and back. */
  const answerLater = (res: ServerResponse, delayMs: number, body: unknown, then?: () => void) =>
    scheduler.after(delayMs, () => {
      sendJson(res, 200, body);
      then?.();
    });

  const evseStatus = (evse: SimulatedEvse | undefined): OicpEvseStatus => {
    if (!evse) return "EvseNotFound";
    if (evse.behaviour === "offline") return "Unknown";
    if (evse.behaviour === "out-of-service") return "OutOfService";
    // The busy EVSE is taken by somebody else's session.
    if (evse.behaviour === "busy" || cpo.activeSessionAt(evse)) return "Occupied";
    return "Available";
  };

  // FACTS.md §2.1: Hubject checks the contract and the EvseID itself, creates the SessionID and
  // forwards the request to the CPO, whose answer comes back as the acknowledgement.
  function authorizeRemoteStart({ res, body }: Context): void {
    const check = new Checks();
    check.required(body.ProviderID, "providerID", PROVIDER_ID);
    const evseId = body.EvseID;
    check.required(evseId, "evseID", EVSE_ID);
    const remote = asRecord(asRecord(body.Identification).RemoteIdentification);
    // Remote flows carry only RemoteIdentification (FACTS.md §2.1).
    const evcoId = remote.EvcoID;
    check.required(evcoId, "identification.remoteIdentification.evcoID", EVCO_ID);
    check.optional(body.EMPPartnerSessionID, "empPartnerSessionID", PARTNER_SESSION_ID_MAX);
    check.optional(body.CPOPartnerSessionID, "cpoPartnerSessionID", PARTNER_SESSION_ID_MAX);
    check.optional(body.PartnerProductID, "partnerProductID", PRODUCT_ID_MAX);
    if (check.errors.length > 0 || typeof evseId !== "string" || typeof evcoId !== "string") {
      return sendValidationError(res, check.errors);
    }
    // A SessionID in the request is ignored: Hubject creates it (FACTS.md §2.1, E2).
    const emp = optionalString(body.EMPPartnerSessionID);
    const refuse = (code: string, description: string, forwardedToCpo: boolean) => {
      // When the CPO refused, Hubject had already created a SessionID (an open question, FACTS.md §8.6).
      const ids = { SessionID: forwardedToCpo ? randomUUID() : null, EMPPartnerSessionID: emp };
      answerLater(res, pace.answerDelayMs, ack(code, description, ids));
    };

    const evse = findSimulatedEvse(evseId);
    if (!evse) return refuse("603", "Unknown EVSE ID", false);
    switch (evse.behaviour) {
      case "no-contract":
        return refuse("210", "No valid contract", false);
      case "offline":
        return refuse("501", "Communication to EVSE failed", true);
      case "busy":
        return refuse("602", "EVSE already in use", true);
      case "out-of-service":
        return refuse("700", "EVSE out of service", true);
      default:
        if (cpo.activeSessionAt(evse)) return refuse("602", "EVSE already in use", true);
    }

    const session = cpo.reserve(evse, {
      evseId,
      evcoId,
      empPartnerSessionId: emp,
      partnerProductId: optionalString(body.PartnerProductID),
    });
    if (evse.behaviour === "cpo-timeout") {
      // 310 means "unknown outcome": the CPO starts anyway (FACTS.md §5, §6.3, example 04).
      const body310 = ack("310", "Partner did not respond", { SessionID: session.sessionId, EMPPartnerSessionID: emp });
      answerLater(res, pace.answerDelayMs, body310, () => cpo.accepted(session));
      return;
    }
    const delay = evse.behaviour === "slow" ? pace.slowAnswerMs : pace.answerDelayMs;
    answerLater(res, delay, acceptedAck(session), () => cpo.accepted(session));
  }

  const acceptedAck = (session: SimSession) =>
    ack("000", "Success", {
      SessionID: session.sessionId,
      CPOPartnerSessionID: session.cpoPartnerSessionId,
      EMPPartnerSessionID: session.empPartnerSessionId,
    });

  // FACTS.md §2.2, §6.11: an unknown or already ended session gets "400 Session is invalid".
  function authorizeRemoteStop({ res, body }: Context): void {
    const check = new Checks();
    const sessionId = body.SessionID;
    check.required(sessionId, "sessionID", SESSION_ID);
    check.required(body.ProviderID, "providerID", PROVIDER_ID);
    const evseId = body.EvseID;
    check.required(evseId, "evseID", EVSE_ID);
    check.optional(body.EMPPartnerSessionID, "empPartnerSessionID", PARTNER_SESSION_ID_MAX);
    check.optional(body.CPOPartnerSessionID, "cpoPartnerSessionID", PARTNER_SESSION_ID_MAX);
    if (check.errors.length > 0 || typeof sessionId !== "string" || typeof evseId !== "string") {
      return sendValidationError(res, check.errors);
    }
    const session = cpo.session(sessionId);
    if (!session || session.state === "ended" || !sameEvseId(session.evseId, evseId)) {
      answerLater(res, pace.answerDelayMs, ack("400", "Session is invalid", { SessionID: sessionId }));
      return;
    }
    cpo.stopRequested(session);
    const stopAck = ack("000", "Success", {
      SessionID: session.sessionId,
      CPOPartnerSessionID: session.cpoPartnerSessionId,
      EMPPartnerSessionID: optionalString(body.EMPPartnerSessionID) ?? session.empPartnerSessionId,
    });
    answerLater(res, pace.answerDelayMs, stopAck, () => cpo.stopAccepted(session));
  }

  // FACTS.md §2.4: 1..100 ids, answered from Hubject's own status table (no CPO round trip).
  function pullEvseStatusById({ res, body }: Context): void {
    const check = new Checks();
    check.required(body.ProviderID, "providerID", PROVIDER_ID);
    const ids = body.EvseID;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 100) {
      check.fail("evseID", "size must be between 1 and 100");
    } else {
      ids.forEach((id, i) => check.required(id, `evseID[${i}]`, EVSE_ID));
    }
    if (check.errors.length > 0 || !Array.isArray(ids)) return sendValidationError(res, check.errors);
    const records = (ids as string[]).map((EvseID) => ({ EvseID, EvseStatus: evseStatus(findSimulatedEvse(EvseID)) }));
    sendJson(res, 200, {
      EVSEStatusRecords: { EvseStatusRecord: records },
      StatusCode: { Code: "000", Description: null, AdditionalInfo: null },
    });
  }

  // FACTS.md §2.6: a Spring-style page (§2.5) of the CDRs the simulated CPO produced.
  function getChargeDetailRecords({ res, body, query }: Context): void {
    const check = new Checks();
    check.required(body.ProviderID, "providerID", PROVIDER_ID);
    const from = parseOicpDate(body.From);
    const to = parseOicpDate(body.To);
    if (!from) check.fail("from", "must be a date-time with offset");
    if (!to) check.fail("to", "must be a date-time with offset");
    const sessionIds = body.SessionID;
    if (sessionIds != null && (!Array.isArray(sessionIds) || sessionIds.some((id) => typeof id !== "string"))) {
      check.fail("sessionID", "must be an array of SessionIDs");
    }
    const forwarded = body.CDRForwarded;
    if (forwarded != null && typeof forwarded !== "boolean") check.fail("cdrForwarded", "must be a boolean");
    // The OperatorID filter is one value in the table and an array elsewhere (FACTS.md E6): take both.
    const operatorIds =
      typeof body.OperatorID === "string" ? [body.OperatorID] : Array.isArray(body.OperatorID) ? body.OperatorID : null;
    const page = query.has("page") ? Number(query.get("page")) : 0;
    const size = query.has("size") ? Number(query.get("size")) : 20;
    if (!Number.isInteger(page) || page < 0) check.fail("page", "must be a non-negative integer");
    if (!Number.isInteger(size) || size < 1 || size > 2000) check.fail("size", "must be between 1 and 2000");
    if (check.errors.length > 0 || !from || !to) return sendValidationError(res, check.errors);

    const matching = cpo.cdrs.filter(
      (cdr) =>
        cdr.chargingEnd >= from &&
        cdr.chargingEnd <= to &&
        (!Array.isArray(sessionIds) || sessionIds.includes(cdr.record.SessionID)) &&
        (!operatorIds || operatorIds.includes(cdr.operatorId)) &&
        (typeof forwarded !== "boolean" || cdr.forwarded === forwarded),
    );
    const content = matching.slice(page * size, page * size + size).map((cdr) => cdr.record);
    const totalPages = Math.ceil(matching.length / size);
    sendJson(res, 200, {
      content,
      pageable: { pageNumber: page, pageSize: size, offset: page * size, paged: true, unpaged: false },
      number: page,
      size,
      totalElements: matching.length,
      totalPages,
      first: page === 0,
      last: page >= totalPages - 1,
      numberOfElements: content.length,
      empty: content.length === 0,
      StatusCode: { Code: "000", Description: null, AdditionalInfo: null },
    });
  }

  const routes: Route[] = [
    { operation: "AuthorizeRemoteStart", pattern: routePattern(oicpPaths.remoteStart), handle: authorizeRemoteStart },
    { operation: "AuthorizeRemoteStop", pattern: routePattern(oicpPaths.remoteStop), handle: authorizeRemoteStop },
    { operation: "PullEvseStatusById", pattern: routePattern(oicpPaths.pullEvseStatusById), handle: pullEvseStatusById },
    { operation: "GetChargeDetailRecords", pattern: routePattern(oicpPaths.getChargeDetailRecords), handle: getChargeDetailRecords },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    if (req.method === "GET" && url.pathname === "/simulator/catalogue") {
      return sendJson(res, 200, SIMULATED_EVSES.map((evse) => ({ ...evse, status: evseStatus(evse) })));
    }
    const text = await readBody(req);
    let body: unknown;
    let malformed = false;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
      malformed = true;
    }
    const route = req.method === "POST" ? routes.find((r) => r.pattern.test(url.pathname)) : undefined;
    calls.push({
      operation: route?.operation ?? "Unknown",
      method: req.method ?? "",
      path: url.pathname + url.search,
      headers: req.headers,
      body,
      receivedAt: new Date(),
    });
    logger.debug({ operation: route?.operation ?? "Unknown", path: url.pathname }, "simulator: call");
    if (!route) return sendNotFound(res);

    // The certificate stands for options.providerId: path and body must both name it (FACTS.md §1).
    const pathProvider = safeDecode(route.pattern.exec(url.pathname)?.[1] ?? "");
    if (pathProvider !== options.providerId) return sendUnauthorized(res);
    if (malformed || typeof body !== "object" || body === null || Array.isArray(body)) {
      return sendValidationError(res, [{ fieldReference: "body", errorMessage: "must be a JSON object" }]);
    }
    const record = body as Record<string, unknown>;
    if (typeof record.ProviderID === "string" && record.ProviderID !== options.providerId) return sendUnauthorized(res);
    route.handle({ res, body: record, query: url.searchParams });
  }

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error({ err: error }, "simulator: request failed");
      sendJson(res, 500, { StatusCode: { Code: "001", Description: "Hubject system error", AdditionalInfo: null } });
    });
  });

  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}${OICP_API_PREFIX}`;
  logger.info({ url, providerId: options.providerId }, "hubject simulator listening");

  let closing: Promise<void> | undefined;
  return {
    url,
    catalogue: SIMULATED_EVSES,
    calls,
    deliveries: cpo.deliveries,
    callsTo: (operation) => calls.filter((call) => call.operation === operation),
    hubjectSessionIdFor: (empPartnerSessionId) => cpo.findByEmpPartnerSessionId(empPartnerSessionId)?.sessionId,
    setGatewayOicpUrl: (value) => {
      gatewayOicpUrl = value.replace(/\/+$/, "");
    },
    setPace: (value) => {
      pace = { ...pace, ...value };
    },
    idle: () => scheduler.idle(),
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        scheduler.close();
        server.close(() => resolve());
        // Requests still waiting for a delayed answer would keep the server open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function safeDecode(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}
