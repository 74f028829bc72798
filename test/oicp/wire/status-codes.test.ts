// The one OICP-code-to-error map, checked code by code against docs/oicp.md#status-codes's retry judgement,
// and the README's error table checked for completeness.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { CHARGING_ERROR_CODES, chargingErrorForOicpCode, GATEWAY_ERRORS, TRANSPORT_ERRORS } from "../../../src/oicp/wire/status-codes.js";

// [OICP code, ChargingErrorCode, retryable, outcome unknown] — docs/oicp.md#status-codes "Retry?" column:
// "Retry"/"Retry later"/"User may retry"/"Retry after a delay"/"After the user plugs in" → true;
// "No" → false; 310 "Unknown" → not retryable, outcome unknown (never resend blindly).
const FACTS_5: Array<[string, string, boolean, boolean]> = [
  ["001", "HUBJECT_ERROR", true, false],
  ["002", "HUBJECT_ERROR", true, false],
  ["009", "HUBJECT_ERROR", true, false],
  ["017", "CONFIGURATION_ERROR", false, false],
  ["018", "CONFIGURATION_ERROR", false, false],
  ["019", "CONTRACT_NOT_ACCEPTED", false, false],
  ["021", "OPERATOR_UNAVAILABLE", true, false],
  ["022", "CONFIGURATION_ERROR", false, false],
  ["101", "CONTRACT_NOT_ACCEPTED", false, false],
  ["102", "CONTRACT_NOT_ACCEPTED", false, false],
  ["103", "CONTRACT_NOT_ACCEPTED", true, false],
  ["105", "CONTRACT_NOT_ACCEPTED", false, false],
  ["106", "CONTRACT_NOT_ACCEPTED", false, false],
  ["110", "CONTRACT_NOT_ACCEPTED", true, false],
  ["120", "CONTRACT_NOT_ACCEPTED", false, false],
  ["121", "CONTRACT_NOT_ACCEPTED", false, false],
  ["122", "CONTRACT_NOT_ACCEPTED", true, false],
  ["200", "CONTRACT_NOT_ACCEPTED", false, false],
  ["210", "NO_VALID_CONTRACT", false, false],
  ["300", "CONFIGURATION_ERROR", false, false],
  ["310", "CHARGER_NOT_RESPONDING", false, true],
  ["320", "OPERATOR_UNAVAILABLE", true, false],
  ["400", "SESSION_NOT_ACTIVE", false, false],
  ["501", "EVSE_OFFLINE", true, false],
  ["510", "NO_VEHICLE_CONNECTED", true, false],
  ["601", "EVSE_RESERVED", false, false],
  ["602", "EVSE_IN_USE", false, false],
  ["603", "EVSE_UNKNOWN", false, false],
  ["604", "EVSE_NOT_REMOTE_CAPABLE", false, false],
  ["700", "EVSE_OUT_OF_SERVICE", false, false],
];

describe("OICP status codes → ChargingError", () => {
  it.each(FACTS_5)("%s → %s (retryable %s)", (oicp, code, retryable, unknown) => {
    const error = chargingErrorForOicpCode(oicp);
    expect(error).toMatchObject({ code, retryable, outcomeUnknown: unknown, oicpStatusCode: oicp });
    expect(error.message.length).toBeGreaterThan(15);
    expect(error.message).not.toMatch(/\b\d{3}\b|OICP|Hubject ID/); // drivers read sentences, not codes
  });

  it("docs/oicp.md#status-codes lists every code there is; anything else is UNKNOWN_ERROR, not retryable", () => {
    expect(chargingErrorForOicpCode("600")).toMatchObject({ code: "UNKNOWN_ERROR", retryable: false, oicpStatusCode: "600" });
  });

  it("only configuration faults alert operators", () => {
    for (const [oicp, code] of FACTS_5) expect(chargingErrorForOicpCode(oicp).operatorAlert).toBe(code === "CONFIGURATION_ERROR");
  });

  it("transport and gateway outcomes", () => {
    expect(TRANSPORT_ERRORS.unavailable()).toMatchObject({ code: "HUBJECT_UNAVAILABLE", retryable: true, oicpStatusCode: null });
    expect(TRANSPORT_ERRORS.outcomeUnknown()).toMatchObject({ code: "CHARGER_NOT_RESPONDING", retryable: false, outcomeUnknown: true });
    expect(GATEWAY_ERRORS.sessionStarting()).toMatchObject({ code: "SESSION_STARTING", retryable: true });
  });

  it("the README documents every ChargingErrorCode", () => {
    const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");
    const table = readme.slice(readme.indexOf("### Payload error codes"));
    for (const code of CHARGING_ERROR_CODES) expect(table, code).toContain(`| \`${code}\` |`);
  });
});
