// Proves that test/support/openapi.ts loads Hubject's OAS and that each erratum it applies matters.
import { describe, expect, it } from "vitest";
import { example } from "../support/examples.js";
import { countNullableKeywords, oicpRequestPath, validateAgainstRawOpenApi, validateOicpRequest } from "../support/openapi.js";

describe("OICP request validation against the EMP OpenAPI bundle", () => {
  it("E2: example 01 (no SessionID) is valid after the erratum, invalid against the raw schema", () => {
    const example01 = example("01-remote-start.request");
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStart", example01)).toEqual({ valid: true, errors: [] });

    const raw = validateAgainstRawOpenApi("eRoamingAuthorizeRemoteStart", example01);
    expect(raw.valid).toBe(false);
    expect(raw.errors.join()).toContain("SessionID");
  });

  it("the other request examples validate", () => {
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStop", example("11-remote-stop.request")).valid).toBe(true);
    expect(validateOicpRequest("eRoamingPullEVSEStatusByID", example("16-pull-evse-status-by-id.request")).valid).toBe(true);
    expect(validateOicpRequest("eRoamingGetChargeDetailRecords", example("18-get-charge-detail-records.request")).valid).toBe(true);
  });

  it("the schemas still bite: bad ids, missing fields, over 100 EvseIDs", () => {
    const start = example("01-remote-start.request");
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStart", { ...start, EvseID: "nope" }).valid).toBe(false);
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStart", { ...start, ProviderID: undefined }).valid).toBe(false);
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStop", { ProviderID: "DE-DCB", EvseID: "DE*ABC*E1" }).valid).toBe(false);
    const ids = Array.from({ length: 101 }, (_, i) => `DE*ABC*E${i}`);
    expect(validateOicpRequest("eRoamingPullEVSEStatusByID", { ProviderID: "DE-DCB", EvseID: ids }).valid).toBe(false);
    const cdrs = example("18-get-charge-detail-records.request");
    expect(validateOicpRequest("eRoamingGetChargeDetailRecords", { ...cdrs, From: "yesterday" }).valid).toBe(false);
  });

  it("E6: CDRForwarded is checked as a boolean; the OAS spelling CDRForwarder is refused", () => {
    const cdrs = example("18-get-charge-detail-records.request");
    expect(validateOicpRequest("eRoamingGetChargeDetailRecords", { ...cdrs, CDRForwarded: "no" }).valid).toBe(false);
    const { CDRForwarded, ...rest } = cdrs;
    expect(validateOicpRequest("eRoamingGetChargeDetailRecords", { ...rest, CDRForwarder: CDRForwarded }).valid).toBe(false);
    // The raw OAS would have accepted both mistakes.
    expect(validateAgainstRawOpenApi("eRoamingGetChargeDetailRecords", { ...cdrs, CDRForwarded: "no" }).valid).toBe(true);
    expect(validateAgainstRawOpenApi("eRoamingGetChargeDetailRecords", { ...rest, CDRForwarder: CDRForwarded }).valid).toBe(true);
  });

  it("E3: partner session ids are limited to 250 and PartnerProductID to 50 characters (the raw OAS ignores both)", () => {
    const start = example("01-remote-start.request");
    const stop = example("11-remote-stop.request");
    const cases = [
      ["eRoamingAuthorizeRemoteStart", { ...start, EMPPartnerSessionID: "x".repeat(251) }],
      ["eRoamingAuthorizeRemoteStart", { ...start, CPOPartnerSessionID: "x".repeat(251) }],
      ["eRoamingAuthorizeRemoteStart", { ...start, PartnerProductID: "x".repeat(51) }],
      ["eRoamingAuthorizeRemoteStop", { ...stop, EMPPartnerSessionID: "x".repeat(251) }],
      ["eRoamingAuthorizeRemoteStop", { ...stop, CPOPartnerSessionID: "x".repeat(251) }],
    ] as const;
    for (const [operation, body] of cases) {
      expect(validateOicpRequest(operation, body).valid).toBe(false);
      // (The raw schema also wants SessionID on remote start, E2: give it one to isolate E3.)
      expect(validateAgainstRawOpenApi(operation, { SessionID: stop.SessionID, ...body }).valid).toBe(true);
    }
    expect(
      validateOicpRequest("eRoamingAuthorizeRemoteStart", {
        ...start,
        EMPPartnerSessionID: "x".repeat(250),
        PartnerProductID: "x".repeat(50),
      }).valid,
    ).toBe(true);
  });

  it("E1/E4: the paths of the four operations, errata applied", () => {
    expect(oicpRequestPath("eRoamingAuthorizeRemoteStart", "DE-DCB")).toBe(
      "/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/start",
    );
    expect(oicpRequestPath("eRoamingAuthorizeRemoteStop", "DE-DCB")).toBe("/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/stop");
    expect(oicpRequestPath("eRoamingPullEVSEStatusByID", "DE-DCB")).toBe("/api/oicp/evsepull/v21/providers/DE-DCB/status-records-by-id");
    expect(oicpRequestPath("eRoamingGetChargeDetailRecords", "DE-DCB")).toBe(
      "/api/oicp/cdrmgmt/v22/providers/DE-DCB/get-charge-detail-records-request",
    );
  });

  it("the bundle uses no OpenAPI `nullable` (explicit nulls are a response-side concern)", () => {
    expect(countNullableKeywords()).toBe(0);
  });
});
