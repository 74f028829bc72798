// eRoamingPushAuthenticationData v2.1 (docs/oicp.md#push-authentication-data): the EMP's
// identifications for offline authorization, as fullLoad, insert, update or delete. Answered
// with an eRoamingAcknowledgement, read like the remote calls' (acknowledgement.ts).
//
// Strictly one push at a time per client (docs/oicp.md#transport): Hubject processes parallel
// pushes in parallel and a later one can overtake an earlier one.
//
// Never retried here (idempotent: false), although fullLoad, update and delete would be safe
// to repeat: insert is not, and retries inside the client would be invisible to the pusher's
// 50 calls/min budget (docs/oicp.md#rate-limits). The pusher (src/identifications/push.ts)
// retries on its next run, computing the delta again from what the store says Hubject holds.
import type { PushAction, PushOutcome } from "../../../identifications/push.js";
import type { OicpIdentification } from "../../wire/identification.js";
import { EVCO_ID } from "../../wire/identifiers.js";
import { chargingErrorForOicpCode } from "../../wire/status-codes.js";
import { oicpPaths } from "../../wire/types.js";
import type { HubjectClient } from "../hubject.client.js";
import { rejectedLocally, remoteOutcomeOf } from "./acknowledgement.js";

export interface OicpPushAuthenticationData {
  ActionType: PushAction;
  ProviderAuthenticationData: {
    ProviderID: string;
    AuthenticationDataRecord: Array<{ Identification: OicpIdentification }>;
  };
}

const ACTIONS: ReadonlySet<string> = new Set(["fullLoad", "insert", "update", "delete"]);
const UID = /^([0-9A-F]{8}|[0-9A-F]{14}|[0-9A-F]{20})$/;
const HASHED_PIN = /^[0-9A-Za-z.+/=$]{10,100}$/;
const PRINTED_NUMBER_MAX = 150;

/** The push in flight per client: the next waits for its answer. */
const inFlight = new WeakMap<HubjectClient, Promise<unknown>>();

export function pushAuthenticationData(
  client: HubjectClient,
  action: PushAction,
  identifications: readonly OicpIdentification[],
): Promise<PushOutcome> {
  const previous = inFlight.get(client) ?? Promise.resolve();
  const next = previous.then(() => pushOnce(client, action, identifications));
  inFlight.set(
    client,
    next.catch(() => undefined),
  );
  return next;
}

async function pushOnce(client: HubjectClient, action: PushAction, identifications: readonly OicpIdentification[]): Promise<PushOutcome> {
  const problems = ACTIONS.has(action) ? identifications.flatMap((identification, i) => checkIdentification(identification, i)) : [];
  if (!ACTIONS.has(action)) problems.push(`ActionType must be one of ${[...ACTIONS].join(", ")}`);
  if (problems.length > 0) return outcomeOf(rejectedLocally(problems.slice(0, 20)));

  const body: OicpPushAuthenticationData = {
    ActionType: action,
    ProviderAuthenticationData: {
      ProviderID: client.providerId,
      AuthenticationDataRecord: identifications.map((Identification) => ({ Identification })),
    },
  };
  const answer = await client.post({
    operation: "PushAuthenticationData",
    path: oicpPaths.pushAuthenticationData(client.providerId),
    body,
    timeoutMs: client.requestTimeoutMs,
    idempotent: false,
    logFields: { action, records: identifications.length },
  });
  return outcomeOf(remoteOutcomeOf(answer));
}

function outcomeOf(outcome: ReturnType<typeof remoteOutcomeOf>): PushOutcome {
  switch (outcome.kind) {
    case "answered":
      if (outcome.result && outcome.status.code === "000") return { kind: "accepted", processId: outcome.processId };
      // Whether the same push may succeed later: the one mapping of OICP codes (docs/oicp.md#status-codes).
      return {
        kind: "refused",
        status: outcome.status,
        retryable: chargingErrorForOicpCode(outcome.status.code).retryable,
        processId: outcome.processId,
      };
    case "failed":
      return { kind: "failed", reason: outcome.reason, status: outcome.status, detail: outcome.detail, processId: outcome.processId };
    case "unknown":
      return { kind: "unknown", reason: outcome.reason, detail: outcome.detail, processId: outcome.processId };
  }
}

/** OICP's formats, checked before sending (never echoing a UID in full or a hash). */
function checkIdentification(identification: OicpIdentification, index: number): string[] {
  const at = `AuthenticationDataRecord[${index}].Identification`;
  const problems: string[] = [];
  const evco = (value: string | undefined, field: string) => {
    if (value !== undefined && !EVCO_ID.test(value)) problems.push(`${at}.${field}.EvcoID does not match the OICP EvcoID format`);
  };
  if ("RFIDMifareFamilyIdentification" in identification) {
    if (!UID.test(identification.RFIDMifareFamilyIdentification.UID))
      problems.push(`${at}.RFIDMifareFamilyIdentification.UID is not an OICP UID`);
  } else if ("RFIDIdentification" in identification) {
    const rfid = identification.RFIDIdentification;
    if (!UID.test(rfid.UID)) problems.push(`${at}.RFIDIdentification.UID is not an OICP UID`);
    evco(rfid.EvcoID, "RFIDIdentification");
    if (rfid.PrintedNumber !== undefined && rfid.PrintedNumber.length > PRINTED_NUMBER_MAX) {
      problems.push(`${at}.RFIDIdentification.PrintedNumber is longer than ${PRINTED_NUMBER_MAX}`);
    }
  } else if ("QRCodeIdentification" in identification) {
    evco(identification.QRCodeIdentification.EvcoID, "QRCodeIdentification");
    if (!HASHED_PIN.test(identification.QRCodeIdentification.HashedPIN.Value)) {
      problems.push(`${at}.QRCodeIdentification.HashedPIN.Value is not a hash value OICP accepts`);
    }
  } else if ("PlugAndChargeIdentification" in identification) {
    evco(identification.PlugAndChargeIdentification.EvcoID, "PlugAndChargeIdentification");
  } else {
    problems.push(`${at} has no identification form`);
  }
  return problems;
}
