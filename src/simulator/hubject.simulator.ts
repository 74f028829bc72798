// The embedded Hubject: a real HTTP server answering the EMP-side OICP endpoints like HBS
// (docs/oicp.md#emp-operations), with a simulated CPO behind it that pushes notifications and CDRs to the
// gateway's inbound listener (docs/oicp.md#inbound). Used by `npm start` without HUBJECT_BASE_URL and by tests.

import { randomUUID } from "node:crypto";
import http, { type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createLogger, type Logger } from "../logger.js";
import { EVCO_ID, EVSE_ID, PARTNER_SESSION_ID_MAX, PRODUCT_ID_MAX, PROVIDER_ID, SESSION_ID, sameEvseId } from "../oicp/wire/identifiers.js";
import { OICP_API_PREFIX, type OicpEvseStatus, oicpPaths } from "../oicp/wire/types.js";
import {
  type AckIds,
  ack,
  ackIds,
  asRecord,
  Checks,
  optionalString,
  parseOicpDate,
  routePattern,
  safeDecode,
  sendNotFound,
  sendUnauthorized,
  sendValidationError,
} from "./answers.js";
import { SimulatedAuthenticationData } from "./authentication-data.js";
import { findSimulatedEvse, SIMULATED_EVSES, type SimulatedEvse } from "./catalogue.js";
import { controlRoutes } from "./control.js";
import { DEFAULT_PACE, type Delivery, type SimSession, SimulatedCpo, type SimulatorPace } from "./cpo.js";
import { GeneratedEvseData } from "./evse-data.js";
import { evsePullHandlers } from "./evse-pulls.js";
import {
  type CpoFaults,
  checkUpstreamFault,
  DEFAULT_CPO_FAULTS,
  faultAck,
  faultStatusOnly,
  httpFaultBody,
  isProcessed,
  MALFORMED_JSON_BODY,
  type UpstreamFault,
} from "./faults.js";
import { MAX_BODY_BYTES, readBody, sendJson, sendText } from "./http.js";
import { pricedEvses, pricingPullHandlers, SimulatedPricing } from "./pricing.js";
import { Scheduler } from "./scheduler.js";
import { ChargerTaps, type PresentedIdentification, type TapOutcome } from "./tap-card.js";

export type { OfflineAuthorization, SimulatedAuthenticationData } from "./authentication-data.js";
export { SIMULATED_EVSES, type SimulatedEvse } from "./catalogue.js";
export { DEFAULT_PACE, type Delivery, type SimulatorPace } from "./cpo.js";
export { type CpoFaults, DEFAULT_CPO_FAULTS, MALFORMED_JSON_BODY, type UpstreamFault } from "./faults.js";
export type { PresentedIdentification, TapOutcome } from "./tap-card.js";

export interface SimulatorOptions {
  providerId: string;
  host?: string;
  port?: number;
  gatewayOicpUrl?: string;
  pace?: Partial<SimulatorPace>;
  logger?: Logger;
  /** The generated EVSE catalogue (evse-data.ts); default seed 1 and 5,000 EVSEs. */
  evseData?: { seed: number; evses?: number };
}

export interface RecordedCall {
  operation:
    | "AuthorizeRemoteStart"
    | "AuthorizeRemoteStop"
    | "PullEvseStatusById"
    | "GetChargeDetailRecords"
    | "PushAuthenticationData"
    | "PullEvseData"
    | "PullEvseStatus"
    | "PullEvseStatusByOperatorId"
    | "PullPricingProductData"
    | "PullEvsePricing"
    | "Unknown";
  method: string;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  receivedAt: Date;
  /** Set when a fault queued with failNext() was applied to this call. */
  fault?: UpstreamFault["kind"];
}

export type Operation = RecordedCall["operation"];

/** The operations failNext() can break; "Unknown" paths always get 404. */
export const FAULTABLE_OPERATIONS: readonly Operation[] = Object.freeze([
  "AuthorizeRemoteStart",
  "AuthorizeRemoteStop",
  "PullEvseStatusById",
  "GetChargeDetailRecords",
  "PullEvseData",
  "PullEvseStatus",
  "PullEvseStatusByOperatorId",
  "PullPricingProductData",
  "PullEvsePricing",
]);

export interface HubjectSimulator {
  /** What the gateway uses as HUBJECT_BASE_URL: "http://127.0.0.1:PORT/api/oicp". */
  readonly url: string;
  readonly catalogue: readonly SimulatedEvse[];
  readonly calls: readonly RecordedCall[];
  readonly deliveries: readonly Delivery[];
  /** What the EMP pushed for offline authorization, its call counts, and authorizeOffline() (authentication-data.ts). */
  readonly authenticationData: SimulatedAuthenticationData;
  /** The generated EVSE catalogue behind the EVSE pulls (evse-data.ts): mutate(), changeStatuses(), counters. */
  readonly evseData: GeneratedEvseData;
  /** Dynamic pricing behind the two pricing pulls (pricing.ts): setPrice(), setProducts(), counters. */
  readonly pricing: SimulatedPricing;
  callsTo(operation: Operation): RecordedCall[];
  /**
   * The SessionID the simulated Hubject created for a remote start, known as soon as the request
   * arrived (before a slow answer goes out). Lets tests play a CPO whose messages beat the answer.
   */
  hubjectSessionIdFor(empPartnerSessionId: string): string | undefined;
  /**
   * A driver holds a card to an EVSE, scans its QR code or plugs in a car (tap-card.ts): offline
   * from pushed data, else AuthorizeStart to the gateway; authorized, the session runs and its
   * messages name the identification. The same identification while its session runs stops it.
   */
  tapCard(evseId: string, identification: PresentedIdentification): Promise<TapOutcome>;
  readonly taps: readonly TapOutcome[];
  /** Base URL of the gateway's OICP listener (+ Service URL path); "/api/oicp/..." is appended (docs/oicp.md#inbound). */
  setGatewayOicpUrl(url: string): void;
  setPace(pace: Partial<SimulatorPace>): void;
  /**
   * Resolves when no CPO message is scheduled or in flight (answers to pending requests count too).
   * While a session is charging its next Progress is always scheduled, so this waits for the
   * session to end (stop request or autoStopAfterMs), or for close().
   */
  idle(): Promise<void>;
  /**
   * Queues `fault` for the next `times` calls (default 1) of one of FAULTABLE_OPERATIONS, first in
   * first out per operation. Only a request that passes Hubject's checks (401/017, HTTP 400)
   * consumes one, so a test can count on it. Throws on "Unknown" or a fault node:http cannot send.
   * For the pulls "forwarded" means nothing: those requests are never processed.
   */
  failNext(operation: Operation, fault: UpstreamFault, times?: number): void;
  /**
   * Changes how the simulated CPO behaves in sessions reserved from now on; a session keeps the
   * faults it started with until its CDR. Unset fields keep their current value.
   */
  setCpoFaults(faults: Partial<CpoFaults>): void;
  /** Empties the failNext() queues and restores DEFAULT_CPO_FAULTS (for sessions started from now on). */
  clearFaults(): void;
  /** Stops every timer, aborts deliveries in flight and closes the server. */
  close(): Promise<void>;
}

interface Context {
  res: ServerResponse;
  body: Record<string, unknown>;
  query: URLSearchParams;
  call: RecordedCall;
  /** The queued fault this request consumed (see admit()). */
  fault?: UpstreamFault;
}

/** What a handler decided to answer; reply() sends it, or what a fault makes of it. */
interface Reply {
  body: unknown;
  /** When the answer goes out; a delay fault replaces it. */
  delayMs: number;
  /** What happens once the answer went out. Runs even when a fault swallowed it: Hubject did process the request. */
  afterSend?: () => void;
  /** The answer also waits for this (notificationsBeforeAnswer). */
  after?: Promise<void>;
}

/** Only remote start/stop travel on to a CPO, so only they can be "forwarded" (docs/oicp.md#remote-start). */
const forwardsToCpo = (operation: Operation) => operation === "AuthorizeRemoteStart" || operation === "AuthorizeRemoteStop";

interface Route {
  operation: Operation;
  pattern: RegExp;
  handle: (ctx: Context) => void;
}

export async function startSimulator(options: SimulatorOptions): Promise<HubjectSimulator> {
  const logger = options.logger ?? createLogger({ name: "hubject-simulator" });
  const scheduler = new Scheduler((error) => logger.error({ err: error }, "simulator: scheduled step failed"));
  let pace: SimulatorPace = { ...DEFAULT_PACE, ...options.pace };
  let gatewayOicpUrl = options.gatewayOicpUrl?.replace(/\/+$/, "");
  const calls: RecordedCall[] = [];
  const faultQueues = new Map<Operation, UpstreamFault[]>();
  let cpoFaults: CpoFaults = { ...DEFAULT_CPO_FAULTS };
  const authenticationData = new SimulatedAuthenticationData(options.providerId);
  const cpo = new SimulatedCpo({
    scheduler,
    pace: () => pace,
    gatewayOicpUrl: () => gatewayOicpUrl,
    faults: () => cpoFaults,
    logger,
  });

  // Offline first, from what the EMP pushed, as Hubject does (tap-card.ts).
  const taps = new ChargerTaps({ cpo, scheduler, gatewayOicpUrl: () => gatewayOicpUrl, offline: () => authenticationData, logger });
  const control = controlRoutes({ taps, catalogue: () => SIMULATED_EVSES.map((evse) => ({ ...evse, status: evseStatus(evse) })) });

  /**
   * Called by a handler once the request passed Hubject's checks, so a queued fault is never spent
   * on a request that is refused anyway. Takes the next fault for the operation. When the fault
   * keeps Hubject from processing the request, answers it at once and returns false.
   * `ids` fill a status-code acknowledgement.
   */
  function admit(ctx: Context, ids: AckIds = {}): boolean {
    const fault = faultQueues.get(ctx.call.operation)?.shift();
    if (!fault) return true;
    ctx.fault = fault;
    ctx.call.fault = fault.kind;
    logger.debug({ operation: ctx.call.operation, fault }, "simulator: applying fault");
    if (fault.kind === "delay" || isProcessed(fault, forwardsToCpo(ctx.call.operation))) return true;
    sendFaulty(ctx, fault, ids);
    return false;
  }

  /**
   * Sends the answer after a delay, like a round trip through Hubject to the CPO and back, or what
   * the consumed fault makes of it. A delay of 0 answers at once (the pulls never leave Hubject).
   */
  function reply(ctx: Context, r: Reply): void {
    const fault = ctx.fault;
    const send = () => {
      if (!fault || fault.kind === "delay") sendJson(ctx.res, 200, r.body);
      else sendFaulty(ctx, fault, ackIds(r.body));
      r.afterSend?.();
    };
    const delayMs = fault?.kind === "delay" ? fault.ms : r.delayMs;
    if (delayMs === 0 && !r.after) return send();
    const after = r.after;
    scheduler.after(delayMs, () => (after !== undefined ? after.then(send) : send()));
  }

  function sendFaulty(ctx: Context, fault: Exclude<UpstreamFault, { kind: "delay" }>, ids: AckIds): void {
    const { res } = ctx;
    switch (fault.kind) {
      case "http": {
        const { text, contentType } = httpFaultBody(fault);
        const headers: Record<string, string> = { "Content-Type": contentType };
        // 429 from the rate limiter (docs/oicp.md#rate-limits); Retry-After is what a polite client waits for.
        if (fault.retryAfterSeconds !== undefined) headers["Retry-After"] = String(fault.retryAfterSeconds);
        return sendText(res, fault.status, text, headers);
      }
      case "reset":
        // handle() has read the whole request; the client waits for an answer that never comes.
        res.destroy();
        return;
      case "malformed-json":
        return sendText(res, 200, MALFORMED_JSON_BODY, {
          "Content-Type": "application/json;charset=UTF-8",
          "Process-ID": randomUUID(),
        });
      case "status-code":
        return sendJson(res, 200, forwardsToCpo(ctx.call.operation) ? faultAck(fault.code, ids) : faultStatusOnly(fault.code));
    }
  }

  const evseStatus = (evse: SimulatedEvse | undefined): OicpEvseStatus => {
    if (!evse) return "EvseNotFound";
    if (evse.behaviour === "offline") return "Unknown";
    if (evse.behaviour === "out-of-service") return "OutOfService";
    // The busy EVSE is taken by somebody else's session.
    if (evse.behaviour === "busy" || cpo.activeSessionAt(evse)) return "Occupied";
    return "Available";
  };

  // docs/oicp.md#remote-start: Hubject checks the contract and the EvseID itself, creates the SessionID and
  // forwards the request to the CPO, whose answer comes back as the acknowledgement.
  function authorizeRemoteStart(ctx: Context): void {
    const { res, body } = ctx;
    const check = new Checks();
    check.required(body.ProviderID, "providerID", PROVIDER_ID);
    const evseId = body.EvseID;
    check.required(evseId, "evseID", EVSE_ID);
    const remote = asRecord(asRecord(body.Identification).RemoteIdentification);
    // Remote flows carry only RemoteIdentification (docs/oicp.md#remote-start).
    const evcoId = remote.EvcoID;
    check.required(evcoId, "identification.remoteIdentification.evcoID", EVCO_ID);
    check.optional(body.EMPPartnerSessionID, "empPartnerSessionID", PARTNER_SESSION_ID_MAX);
    check.optional(body.CPOPartnerSessionID, "cpoPartnerSessionID", PARTNER_SESSION_ID_MAX);
    check.optional(body.PartnerProductID, "partnerProductID", PRODUCT_ID_MAX);
    if (check.errors.length > 0 || typeof evseId !== "string" || typeof evcoId !== "string") {
      return sendValidationError(res, check.errors);
    }
    // A SessionID in the request is ignored: Hubject creates it (docs/oicp.md#remote-start, #e2).
    const emp = optionalString(body.EMPPartnerSessionID);
    if (!admit(ctx, { EMPPartnerSessionID: emp })) return;
    const refuse = (code: string, description: string, forwardedToCpo: boolean) => {
      // When the CPO refused, Hubject had already created a SessionID (an open question, docs/oicp.md#q6).
      const ids = { SessionID: forwardedToCpo ? randomUUID() : null, EMPPartnerSessionID: emp };
      reply(ctx, { body: ack(code, description, ids), delayMs: pace.answerDelayMs });
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
    // 310 means "unknown outcome": the CPO starts anyway (docs/oicp.md#status-codes, #code-310, example 04).
    const answer =
      evse.behaviour === "cpo-timeout"
        ? ack("310", "Partner did not respond", { SessionID: session.sessionId, EMPPartnerSessionID: emp })
        : acceptedAck(session);
    const delayMs = evse.behaviour === "slow" ? pace.slowAnswerMs : pace.answerDelayMs;
    if (session.faults.notificationsBeforeAnswer) {
      // The charger starts and the Start is acknowledged while the answer is still on its way (docs/oicp.md#early-messages).
      return reply(ctx, { body: answer, delayMs, after: cpo.startBeforeAnswer(session) });
    }
    reply(ctx, { body: answer, delayMs, afterSend: () => cpo.accepted(session) });
  }

  const acceptedAck = (session: SimSession) =>
    ack("000", "Success", {
      SessionID: session.sessionId,
      CPOPartnerSessionID: session.cpoPartnerSessionId,
      EMPPartnerSessionID: session.empPartnerSessionId,
    });

  // docs/oicp.md#remote-stop, #stop-after-end: an unknown or already ended session gets "400 Session is invalid".
  function authorizeRemoteStop(ctx: Context): void {
    const { res, body } = ctx;
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
    if (!admit(ctx, { SessionID: sessionId, EMPPartnerSessionID: optionalString(body.EMPPartnerSessionID) })) return;
    const session = cpo.session(sessionId);
    if (!session || session.state === "ended" || !sameEvseId(session.evseId, evseId)) {
      return reply(ctx, { body: ack("400", "Session is invalid", { SessionID: sessionId }), delayMs: pace.answerDelayMs });
    }
    cpo.stopRequested(session);
    const stopAck = ack("000", "Success", {
      SessionID: session.sessionId,
      CPOPartnerSessionID: session.cpoPartnerSessionId,
      EMPPartnerSessionID: optionalString(body.EMPPartnerSessionID) ?? session.empPartnerSessionId,
    });
    reply(ctx, { body: stopAck, delayMs: pace.answerDelayMs, afterSend: () => cpo.stopAccepted(session) });
  }

  // docs/oicp.md#evse-status: 1..100 ids, answered from Hubject's own status table (no CPO round trip).
  function pullEvseStatusById(ctx: Context): void {
    const { res, body } = ctx;
    const check = new Checks();
    check.required(body.ProviderID, "providerID", PROVIDER_ID);
    const ids = body.EvseID;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > 100) {
      check.fail("evseID", "size must be between 1 and 100");
    } else {
      ids.forEach((id, i) => {
        check.required(id, `evseID[${i}]`, EVSE_ID);
      });
    }
    if (check.errors.length > 0 || !Array.isArray(ids)) return sendValidationError(res, check.errors);
    if (!admit(ctx)) return;
    const records = (ids as string[]).map((EvseID) => ({ EvseID, EvseStatus: evseStatus(findSimulatedEvse(EvseID)) }));
    const answer = {
      EVSEStatusRecords: { EvseStatusRecord: records },
      StatusCode: { Code: "000", Description: null, AdditionalInfo: null },
    };
    reply(ctx, { body: answer, delayMs: 0 });
  }

  // docs/oicp.md#get-cdrs: a Spring-style page (§2.5) of the CDRs the simulated CPO produced.
  function getChargeDetailRecords(ctx: Context): void {
    const { res, body, query } = ctx;
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
    // The OperatorID filter is one value in the table and an array elsewhere (docs/oicp.md#e6): take both.
    const operatorIds = typeof body.OperatorID === "string" ? [body.OperatorID] : Array.isArray(body.OperatorID) ? body.OperatorID : null;
    const page = query.has("page") ? Number(query.get("page")) : 0;
    const size = query.has("size") ? Number(query.get("size")) : 20;
    if (!Number.isInteger(page) || page < 0) check.fail("page", "must be a non-negative integer");
    if (!Number.isInteger(size) || size < 1 || size > 2000) check.fail("size", "must be between 1 and 2000");
    if (check.errors.length > 0 || !from || !to) return sendValidationError(res, check.errors);
    if (!admit(ctx)) return;

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
    const answer = {
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
    };
    reply(ctx, { body: answer, delayMs: 0 });
  }

  const evseData = new GeneratedEvseData(options.evseData ?? { seed: 1 }, evseStatus);
  const pulls = evsePullHandlers<Context>({
    data: () => evseData,
    admit: (ctx) => admit(ctx),
    reply: (ctx, body) => reply(ctx, { body, delayMs: 0 }),
    validationError: sendValidationError,
  });
  const pricing = new SimulatedPricing(options.providerId, () => pricedEvses(evseData));
  const pricingPulls = pricingPullHandlers<Context>({
    pricing,
    admit: (ctx) => admit(ctx),
    reply: (ctx, body) => reply(ctx, { body, delayMs: 0 }),
    validationError: sendValidationError,
  });
  const routes: Route[] = [
    {
      operation: "PullPricingProductData",
      pattern: routePattern(oicpPaths.pullPricingProductData),
      handle: pricingPulls.pullPricingProductData,
    },
    { operation: "PullEvsePricing", pattern: routePattern(oicpPaths.pullEvsePricing), handle: pricingPulls.pullEvsePricing },
    { operation: "PullEvseData", pattern: routePattern(oicpPaths.pullEvseData), handle: pulls.pullEvseData },
    { operation: "PullEvseStatus", pattern: routePattern(oicpPaths.pullEvseStatus), handle: pulls.pullEvseStatus },
    {
      operation: "PullEvseStatusByOperatorId",
      pattern: routePattern(oicpPaths.pullEvseStatusByOperatorId),
      handle: pulls.pullEvseStatusByOperatorId,
    },
    { operation: "AuthorizeRemoteStart", pattern: routePattern(oicpPaths.remoteStart), handle: authorizeRemoteStart },
    { operation: "AuthorizeRemoteStop", pattern: routePattern(oicpPaths.remoteStop), handle: authorizeRemoteStop },
    { operation: "PullEvseStatusById", pattern: routePattern(oicpPaths.pullEvseStatusById), handle: pullEvseStatusById },
    { operation: "GetChargeDetailRecords", pattern: routePattern(oicpPaths.getChargeDetailRecords), handle: getChargeDetailRecords },
    {
      operation: "PushAuthenticationData",
      pattern: routePattern(oicpPaths.pushAuthenticationData),
      handle: (ctx) => authenticationData.handle(ctx.res, ctx.body),
    },
  ];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? "/", "http://simulator.invalid");
    if (url.pathname.startsWith("/simulator/")) return control(req, res, url.pathname);
    const text = await readBody(req, MAX_BODY_BYTES);
    let body: unknown;
    let malformed = false;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
      malformed = true;
    }
    const route = req.method === "POST" ? routes.find((r) => r.pattern.test(url.pathname)) : undefined;
    const call: RecordedCall = {
      operation: route?.operation ?? "Unknown",
      method: req.method ?? "",
      path: url.pathname + url.search,
      headers: req.headers,
      body,
      receivedAt: new Date(),
    };
    calls.push(call);
    logger.debug({ operation: route?.operation ?? "Unknown", path: url.pathname }, "simulator: call");
    if (!route) return sendNotFound(res);

    // The certificate stands for options.providerId: path and body must both name it (docs/oicp.md#transport).
    const pathProvider = safeDecode(route.pattern.exec(url.pathname)?.[1] ?? "");
    if (pathProvider !== options.providerId) return sendUnauthorized(res);
    if (malformed || typeof body !== "object" || body === null || Array.isArray(body)) {
      return sendValidationError(res, [{ fieldReference: "body", errorMessage: "must be a JSON object" }]);
    }
    const record = body as Record<string, unknown>;
    if (typeof record.ProviderID === "string" && record.ProviderID !== options.providerId) return sendUnauthorized(res);
    route.handle({ res, body: record, query: url.searchParams, call });
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
    authenticationData,
    evseData,
    pricing,
    callsTo: (operation) => calls.filter((call) => call.operation === operation),
    hubjectSessionIdFor: (empPartnerSessionId) => cpo.findByEmpPartnerSessionId(empPartnerSessionId)?.sessionId,
    tapCard: (evseId, identification) => taps.tap(evseId, identification),
    taps: taps.taps,
    setGatewayOicpUrl: (value) => {
      gatewayOicpUrl = value.replace(/\/+$/, "");
    },
    setPace: (value) => {
      pace = { ...pace, ...value };
    },
    failNext: (operation, fault, times = 1) => {
      if (!FAULTABLE_OPERATIONS.includes(operation)) {
        throw new RangeError(`failNext: faults apply to ${FAULTABLE_OPERATIONS.join(", ")}, not ${operation}`);
      }
      if (!Number.isInteger(times) || times < 1) throw new RangeError(`failNext: times must be a whole number >= 1, got ${times}`);
      checkUpstreamFault(fault);
      const queue = faultQueues.get(operation) ?? [];
      for (let i = 0; i < times; i++) queue.push({ ...fault });
      faultQueues.set(operation, queue);
    },
    setCpoFaults: (faults) => {
      const given = Object.entries(faults).filter(([, value]) => value !== undefined);
      cpoFaults = { ...cpoFaults, ...(Object.fromEntries(given) as Partial<CpoFaults>) };
    },
    clearFaults: () => {
      faultQueues.clear();
      cpoFaults = { ...DEFAULT_CPO_FAULTS };
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
