import { Writable } from "node:stream";
import { pino } from "pino";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CPO_REMOTE_WINDOW_MS, DEFAULTS } from "../../src/config/defaults.js";
import { HubjectDatasource, type HubjectDatasourceOptions, HubjectError } from "../../src/datasources/hubject.datasource.js";
import { oicpPaths } from "../../src/oicp/wire/types.js";
import type { RemoteCallOutcome } from "../../src/sessions/ports.js";
import { example } from "../support/examples.js";
import { oicpRequestPath, validateOicpRequest } from "../support/openapi.js";
import { closedPort, FakeHubject, type RecordedRequest } from "./fake-hubject.js";
import { EMP_SESSION, EVCO, EVSE, HUBJECT_SESSION, PROVIDER } from "./ids.js";

const startRequest = { evseId: EVSE, evcoId: EVCO, empPartnerSessionId: EMP_SESSION, partnerProductId: "AC3" };
const stopRequest = {
  hubjectSessionId: HUBJECT_SESSION,
  evseId: EVSE,
  empPartnerSessionId: EMP_SESSION,
  cpoPartnerSessionId: "CPO-778812",
};

let hubject: FakeHubject;
const datasources: HubjectDatasource[] = [];

/** Default retry count (3 extra attempts for safe calls) but millisecond backoff. */
function datasource(overrides: Partial<HubjectDatasourceOptions> = {}, allowShortRemoteTimeout = false): HubjectDatasource {
  const ds = new HubjectDatasource(
    {
      baseUrl: hubject.baseUrl,
      providerId: PROVIDER,
      ...overrides,
      resilience: { retryInitialDelayMs: 5, retryMaxDelayMs: 50, ...overrides.resilience },
    },
    allowShortRemoteTimeout ? { allowShortRemoteTimeout: true } : undefined,
  );
  datasources.push(ds);
  return ds;
}

const only = (): RecordedRequest => {
  expect(hubject.requests).toHaveLength(1);
  return hubject.requests[0]!;
};

beforeEach(async () => {
  hubject = await FakeHubject.start();
});
afterEach(async () => {
  for (const ds of datasources.splice(0)) ds.close();
  await hubject.close();
});

describe("requests are exactly what OICP wants", () => {
  it("remote start with PartnerProductID: path, headers, body = example 01, valid against the OAS (errata applied)", async () => {
    hubject.answer({ json: example("02-remote-start.response.accepted"), headers: { "Process-ID": "proc-42" } });

    const outcome = await datasource().authorizeRemoteStart(startRequest);

    const req = only();
    expect(req.method).toBe("POST");
    expect(req.path).toBe("/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/start");
    expect(req.path).toBe(oicpRequestPath("eRoamingAuthorizeRemoteStart", PROVIDER));
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.body).toEqual(example("01-remote-start.request"));
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStart", req.body)).toEqual({ valid: true, errors: [] });

    const body = req.body as Record<string, unknown>;
    expect(body).not.toHaveProperty("SessionID");
    expect(Object.keys(body.Identification as object)).toEqual(["RemoteIdentification"]);
    expect(body.Identification).toEqual({ RemoteIdentification: { EvcoID: EVCO } });

    expect(outcome).toEqual<RemoteCallOutcome>({
      kind: "answered",
      result: true,
      status: { code: "000", description: "Success", additionalInfo: null },
      hubjectSessionId: HUBJECT_SESSION,
      cpoPartnerSessionId: "CPO-778812",
      empPartnerSessionId: EMP_SESSION,
      processId: "proc-42",
    });
  });

  it("remote start without PartnerProductID leaves the field out", async () => {
    hubject.answer({ json: example("02-remote-start.response.accepted") });

    await datasource().authorizeRemoteStart({ evseId: EVSE, evcoId: EVCO, empPartnerSessionId: EMP_SESSION });
    await datasource().authorizeRemoteStart({ evseId: EVSE, evcoId: EVCO, empPartnerSessionId: EMP_SESSION, partnerProductId: null });

    for (const req of hubject.requests) {
      expect(Object.keys(req.body as object).sort()).toEqual(["EMPPartnerSessionID", "EvseID", "Identification", "ProviderID"]);
      expect(validateOicpRequest("eRoamingAuthorizeRemoteStart", req.body).valid).toBe(true);
    }
  });

  it("remote stop uses the ProviderID in the path (E1) and sends example 11", async () => {
    hubject.answer({ json: example("12-remote-stop.response.accepted") });

    const outcome = await datasource().authorizeRemoteStop(stopRequest);

    const req = only();
    expect(req.path).toBe("/api/oicp/charging/v21/providers/DE-DCB/authorize-remote/stop");
    expect(req.path).toBe(oicpRequestPath("eRoamingAuthorizeRemoteStop", PROVIDER));
    expect(req.headers["content-type"]).toBe("application/json");
    expect(req.body).toEqual(example("11-remote-stop.request"));
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStop", req.body)).toEqual({ valid: true, errors: [] });
    expect(outcome).toMatchObject({ kind: "answered", result: true, hubjectSessionId: HUBJECT_SESSION });
  });

  it("remote stop without partner ids sends only SessionID, ProviderID, EvseID", async () => {
    hubject.answer({ json: example("12-remote-stop.response.accepted") });
    await datasource().authorizeRemoteStop({ hubjectSessionId: HUBJECT_SESSION, evseId: EVSE, empPartnerSessionId: null });
    expect(only().body).toEqual({ SessionID: HUBJECT_SESSION, ProviderID: PROVIDER, EvseID: EVSE });
    expect(validateOicpRequest("eRoamingAuthorizeRemoteStop", only().body).valid).toBe(true);
  });

  it("status by id posts to /status-records-by-id (E4) and maps every asked id", async () => {
    hubject.answer({ json: example("17-pull-evse-status-by-id.response") });
    const asked = ["DE*ABC*E1234*1", "DE*ABC*E1234*2", "DE*ABC*E9999*1"];

    const statuses = await datasource().pullEvseStatusById([...asked, "DE*ABC*E7777*1"]);

    const req = only();
    expect(req.path).toBe("/api/oicp/evsepull/v21/providers/DE-DCB/status-records-by-id");
    expect(req.path).toBe(oicpRequestPath("eRoamingPullEVSEStatusByID", PROVIDER));
    expect(req.body).toEqual({ ...example("16-pull-evse-status-by-id.request"), EvseID: [...asked, "DE*ABC*E7777*1"] });
    expect(validateOicpRequest("eRoamingPullEVSEStatusByID", req.body)).toEqual({ valid: true, errors: [] });
    expect(Object.fromEntries(statuses)).toEqual({
      "DE*ABC*E1234*1": "Occupied",
      "DE*ABC*E1234*2": "Available",
      "DE*ABC*E9999*1": "EvseNotFound",
      "DE*ABC*E7777*1": "Unknown", // not in the answer
    });
  });

  it("status by id sends duplicates once (018) and matches ids case-insensitively (E11)", async () => {
    hubject.answer({
      json: { EVSEStatusRecords: { EvseStatusRecord: [{ EvseID: "DE*ABC*E1234*1", EvseStatus: "Available" }] }, StatusCode: null },
    });
    const statuses = await datasource().pullEvseStatusById(["de*abc*E1234*1", "DE*ABC*E1234*1", "DE*ABC*E1234*1"]);
    // Sent as received (E11): the first spelling wins.
    expect((only().body as { EvseID: string[] }).EvseID).toEqual(["de*abc*E1234*1"]);
    expect(Object.fromEntries(statuses)).toEqual({ "de*abc*E1234*1": "Available", "DE*ABC*E1234*1": "Available" });
  });

  it("status by id does not send malformed ids (one would fail the whole batch) and reports them Unknown", async () => {
    hubject.answer({ json: example("17-pull-evse-status-by-id.response") });
    const statuses = await datasource().pullEvseStatusById(["DE*ABC*E1234*1", "not an evse"]);
    expect((only().body as { EvseID: string[] }).EvseID).toEqual(["DE*ABC*E1234*1"]);
    expect(Object.fromEntries(statuses)).toEqual({ "DE*ABC*E1234*1": "Occupied", "not an evse": "Unknown" });
  });

  it("get CDRs sends example 18 with CDRForwarded (E6) and page/size in the query", async () => {
    const cdr = example("14-charge-detail-record.request");
    hubject.answer({
      json: {
        content: [cdr],
        number: 0,
        size: 100,
        totalElements: 1,
        totalPages: 1,
        first: true,
        last: true,
        numberOfElements: 1,
        StatusCode: { Code: "000" },
      },
    });

    const page = await datasource().getChargeDetailRecords({
      from: new Date("2024-06-12T00:00:00Z"),
      to: new Date("2024-06-13T00:00:00Z"),
      sessionIds: [HUBJECT_SESSION],
      cdrForwarded: false,
      page: 0,
      size: 100,
    });

    const req = only();
    expect(req.path).toBe("/api/oicp/cdrmgmt/v22/providers/DE-DCB/get-charge-detail-records-request");
    expect(req.path).toBe(oicpRequestPath("eRoamingGetChargeDetailRecords", PROVIDER));
    expect(Object.fromEntries(req.query)).toEqual({ page: "0", size: "100" });
    expect(req.body).toEqual(example("18-get-charge-detail-records.request"));
    expect(req.body).not.toHaveProperty("CDRForwarder");
    expect(validateOicpRequest("eRoamingGetChargeDetailRecords", req.body)).toEqual({ valid: true, errors: [] });
    expect(page).toEqual({ records: [cdr], last: true, totalPages: 1 });
  });

  it("get CDRs: minimal request, lenient page parsing (HubProviderId E5, numbers in strings)", async () => {
    hubject.answer({
      json: {
        content: [
          { ...example("14-charge-detail-record.request"), HubProviderID: null, HubProviderId: "DE*HUB", ConsumedEnergy: "21.343" },
        ],
        number: 2,
        totalPages: 5,
        unknownField: { nested: true },
      },
    });
    const page = await datasource().getChargeDetailRecords({
      from: new Date("2024-06-12T10:00:00.250Z"),
      to: new Date("2024-06-12T11:00:00.250Z"),
      page: 2,
      size: 2000,
    });

    const req = only();
    expect(req.body).toEqual({ ProviderID: PROVIDER, From: "2024-06-12T10:00:00+00:00", To: "2024-06-12T11:00:01+00:00" });
    expect(validateOicpRequest("eRoamingGetChargeDetailRecords", req.body).valid).toBe(true);
    expect(Object.fromEntries(req.query)).toEqual({ page: "2", size: "2000" });
    expect(page.last).toBe(false);
    expect(page.totalPages).toBe(5);
    expect(page.records[0]).toMatchObject({ HubProviderID: "DE*HUB", ConsumedEnergy: 21.343 });
    expect(page.records[0]).not.toHaveProperty("HubProviderId");
  });

  it("get CDRs refuses size > 2000 without sending", async () => {
    const ds = datasource();
    await expect(ds.getChargeDetailRecords({ from: new Date(0), to: new Date(1000), size: 2001 })).rejects.toMatchObject({
      kind: "INVALID_REQUEST",
    });
    expect(hubject.requests).toHaveLength(0);
  });
});

describe("StatusCode.Code stays a string", () => {
  it.each([
    ["02-remote-start.response.accepted.json", true, "000", HUBJECT_SESSION],
    ["03-remote-start.response.rejected-unknown-evse.json", false, "603", null],
    ["04-remote-start.response.cpo-timeout.json", false, "310", "0d9f4b1a-7c2e-4e8b-b6a1-3f5d7e9c1a2b"],
  ])("%s -> Result %s, Code %s", async (file, result, code, sessionId) => {
    hubject.answer({ json: example(file) });
    const outcome = await datasource().authorizeRemoteStart(startRequest);
    expect(outcome).toMatchObject({ kind: "answered", result, status: { code }, hubjectSessionId: sessionId });
    if (outcome.kind === "answered") expect(typeof outcome.status.code).toBe("string");
  });

  it("pads a numeric code to three digits and tolerates unknown fields", async () => {
    hubject.answer({ json: { Result: false, StatusCode: { Code: 17 }, SessionID: null, Surprise: [1, 2] } });
    const outcome = await datasource().authorizeRemoteStart(startRequest);
    expect(outcome).toMatchObject({ kind: "answered", result: false, status: { code: "017", description: null, additionalInfo: null } });

    hubject.answer({ json: { Result: true, StatusCode: { Code: 0 } } });
    expect(await datasource().authorizeRemoteStop(stopRequest)).toMatchObject({ kind: "answered", status: { code: "000" } });
  });
});

describe("HTTP outcomes of remote calls", () => {
  it.each<[string, Parameters<FakeHubject["answer"]>[0], Partial<RemoteCallOutcome> & Record<string, unknown>]>([
    [
      "401 with 017 -> failed/unauthorized",
      { status: 401, json: example("20-hubject-http401-unauthorized.response") },
      {
        kind: "failed",
        reason: "unauthorized",
        httpStatus: 401,
        status: { code: "017", description: "Unauthorized Access", additionalInfo: null },
      },
    ],
    [
      "403 HTML -> failed/forbidden",
      { status: 403, text: "<html><body><h1>403 Forbidden</h1></body></html>" },
      { kind: "failed", reason: "forbidden", httpStatus: 403 },
    ],
    [
      "400 validation -> failed/invalid-request with 022",
      { status: 400, json: example("19-hubject-http400-validation-error.response") },
      { kind: "failed", reason: "invalid-request", httpStatus: 400, status: expect.objectContaining({ code: "022" }) },
    ],
    [
      "429 -> failed/rate-limited",
      { status: 429, json: {}, headers: { "Retry-After": "7" } },
      { kind: "failed", reason: "rate-limited", httpStatus: 429 },
    ],
    [
      "404 -> failed/not-found",
      { status: 404, json: { StatusCode: { Code: "300", Description: "Partner not found" }, message: "Data not found" } },
      {
        kind: "failed",
        reason: "not-found",
        httpStatus: 404,
        status: { code: "300", description: "Partner not found", additionalInfo: null },
      },
    ],
    ["500 -> unknown/upstream-error", { status: 500, text: "oops" }, { kind: "unknown", reason: "upstream-error" }],
    [
      "502 -> unknown/upstream-error",
      { status: 502, json: { StatusCode: { Code: "001" } } },
      { kind: "unknown", reason: "upstream-error" },
    ],
    ["408 -> unknown/upstream-error", { status: 408, text: "" }, { kind: "unknown", reason: "upstream-error" }],
    [
      "200 not JSON -> unknown/bad-response",
      { status: 200, text: "<html>maintenance</html>" },
      { kind: "unknown", reason: "bad-response" },
    ],
    [
      "200 JSON without Result -> unknown/bad-response",
      { status: 200, json: { hello: "world" } },
      { kind: "unknown", reason: "bad-response" },
    ],
  ])("%s", async (_name, reply, expected) => {
    hubject.answer({ ...reply, headers: { "Process-ID": "p-1", ...("headers" in reply ? reply.headers : {}) } });

    const outcome = await datasource().authorizeRemoteStart(startRequest);

    expect(outcome).toMatchObject({ ...expected, processId: "p-1" });
    expect(hubject.requests).toHaveLength(1);
  });

  it("400 detail names Hubject's validationErrors", async () => {
    hubject.answer({ status: 400, json: example("19-hubject-http400-validation-error.response") });
    const outcome = await datasource().authorizeRemoteStop(stopRequest);
    expect(outcome.kind === "failed" && outcome.detail).toContain("evseID: must match");
  });

  it("connection reset after the request was read -> unknown/connection-lost, exactly one request", async () => {
    hubject.answer({ destroy: true });

    const outcome = await datasource().authorizeRemoteStart(startRequest);

    expect(outcome).toMatchObject({ kind: "unknown", reason: "connection-lost", processId: null });
    // The call settles after its last request (a retry would have been sent before): no wait needed.
    expect(hubject.requests).toHaveLength(1);
  });

  it("no answer within remoteTimeoutMs -> unknown/timeout, exactly one request", async () => {
    hubject.answer({ hang: true });
    const ds = datasource({ remoteTimeoutMs: 300 }, true);

    const started = Date.now();
    const outcome = await ds.authorizeRemoteStop(stopRequest);

    expect(outcome).toMatchObject({ kind: "unknown", reason: "timeout" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    // As above: a retry would have been sent before the call settled.
    expect(hubject.requests).toHaveLength(1);
  });

  it("a slow answer inside the timeout is still answered", async () => {
    hubject.answer({ json: example("02-remote-start.response.accepted"), delayMs: 150 });
    const outcome = await datasource({ remoteTimeoutMs: 2_000 }, true).authorizeRemoteStart(startRequest);
    expect(outcome.kind).toBe("answered");
  });

  it("connection refused -> failed/unreachable", async () => {
    const ds = datasource({ baseUrl: `http://127.0.0.1:${await closedPort()}/api/oicp` });
    const outcome = await ds.authorizeRemoteStart(startRequest);
    expect(outcome).toMatchObject({ kind: "failed", reason: "unreachable", httpStatus: null });
    expect(outcome.kind === "failed" && outcome.detail).toContain("ECONNREFUSED");
  });

  it("TLS failure (https against a plain http port) -> failed/unreachable, nothing processed", async () => {
    const ds = datasource({ baseUrl: `https://127.0.0.1:${hubject.port}/api/oicp` });
    const outcome = await ds.authorizeRemoteStart(startRequest);
    expect(outcome).toMatchObject({ kind: "failed", reason: "unreachable" });
    expect(hubject.requests).toHaveLength(0);
  });

  it("invalid input is refused locally as failed/invalid-request without a request (E3 lengths)", async () => {
    const ds = datasource();
    expect(await ds.authorizeRemoteStart({ ...startRequest, partnerProductId: "x".repeat(51) })).toMatchObject({
      kind: "failed",
      reason: "invalid-request",
      httpStatus: null,
      status: { code: "022" },
    });
    expect(await ds.authorizeRemoteStart({ ...startRequest, empPartnerSessionId: "x".repeat(251) })).toMatchObject({
      reason: "invalid-request",
    });
    expect(await ds.authorizeRemoteStop({ ...stopRequest, hubjectSessionId: "not-a-session" })).toMatchObject({
      reason: "invalid-request",
    });
    expect(hubject.requests).toHaveLength(0);
  });
});

describe("safe calls throw HubjectError (mapping, with retries switched off)", () => {
  const noRetries = { resilience: { retryAttempts: 0 } };
  const cases: Array<[string, Parameters<FakeHubject["answer"]>[0], { kind: string; retryable: boolean; httpStatus: number | null }]> = [
    ["500", { status: 500, text: "boom" }, { kind: "UNAVAILABLE", retryable: true, httpStatus: 500 }],
    ["408", { status: 408, text: "" }, { kind: "UNAVAILABLE", retryable: true, httpStatus: 408 }],
    ["429", { status: 429, json: {} }, { kind: "UNAVAILABLE", retryable: true, httpStatus: 429 }],
    [
      "401",
      { status: 401, json: example("20-hubject-http401-unauthorized.response") },
      { kind: "CONFIGURATION", retryable: false, httpStatus: 401 },
    ],
    ["403", { status: 403, text: "<html>Forbidden</html>" }, { kind: "CONFIGURATION", retryable: false, httpStatus: 403 }],
    [
      "400",
      { status: 400, json: example("19-hubject-http400-validation-error.response") },
      { kind: "INVALID_REQUEST", retryable: false, httpStatus: 400 },
    ],
    ["404", { status: 404, json: { message: "Data not found" } }, { kind: "CONFIGURATION", retryable: false, httpStatus: 404 }],
    ["200 not JSON", { status: 200, text: "<html/>" }, { kind: "BAD_RESPONSE", retryable: false, httpStatus: 200 }],
    [
      "200 StatusCode 001",
      { status: 200, json: { StatusCode: { Code: "001", Description: "Hubject system error" } } },
      { kind: "UNAVAILABLE", retryable: true, httpStatus: 200 },
    ],
  ];

  it.each(cases)("status by id, HTTP %s", async (_name, reply, expected) => {
    hubject.answer({ ...reply, headers: { "Process-ID": "p-9" } });
    const error = await datasource(noRetries)
      .pullEvseStatusById([EVSE])
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HubjectError);
    expect(error).toMatchObject({ ...expected, processId: "p-9" });
    expect(hubject.requests).toHaveLength(1);
  });

  it("get CDRs, HTTP 503 -> UNAVAILABLE, retryAttempts 0 -> one request", async () => {
    hubject.answer({ status: 503, text: "" });
    await expect(datasource(noRetries).getChargeDetailRecords({ from: new Date(0), to: new Date(1000) })).rejects.toMatchObject({
      kind: "UNAVAILABLE",
      retryable: true,
      circuitOpen: false,
    });
    expect(hubject.requests).toHaveLength(1);
  });

  it("connection refused -> UNAVAILABLE retryable", async () => {
    const ds = datasource({ baseUrl: `http://127.0.0.1:${await closedPort()}/api/oicp` });
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "UNAVAILABLE", retryable: true });
  });

  it("TLS failure -> CONFIGURATION", async () => {
    const ds = datasource({ baseUrl: `https://127.0.0.1:${hubject.port}/api/oicp` });
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "CONFIGURATION", retryable: false });
  });

  it("more than 100 ids throws INVALID_REQUEST and sends nothing", async () => {
    const ids = Array.from({ length: 101 }, (_, i) => `DE*ABC*E${i}`);
    await expect(datasource().pullEvseStatusById(ids)).rejects.toMatchObject({ name: "HubjectError", kind: "INVALID_REQUEST" });
    expect(hubject.requests).toHaveLength(0);
  });

  it("timeout on a safe call -> UNAVAILABLE retryable", async () => {
    hubject.answer({ hang: true });
    await expect(datasource({ requestTimeoutMs: 200, ...noRetries }).pullEvseStatusById([EVSE])).rejects.toMatchObject({
      kind: "UNAVAILABLE",
      retryable: true,
    });
    expect(hubject.requests).toHaveLength(1);
  });
});

describe("connection handling and configuration", () => {
  it("keep-alive: sequential calls reuse one socket", async () => {
    hubject.responder = (req) =>
      req.path.endsWith("/status-records-by-id")
        ? { json: example("17-pull-evse-status-by-id.response") }
        : { json: example("02-remote-start.response.accepted") };
    const ds = datasource();

    await ds.pullEvseStatusById([EVSE]);
    await ds.authorizeRemoteStart(startRequest);
    await ds.authorizeRemoteStop(stopRequest);
    await ds.pullEvseStatusById([EVSE]);
    await ds.pullEvseStatusById([EVSE]);

    expect(hubject.requests).toHaveLength(5);
    expect(hubject.connections).toBe(1);
  });

  it("the default remote timeout is above the CPO's 60 s window", () => {
    expect(DEFAULTS.hubjectRemoteTimeoutMs).toBeGreaterThan(60_000);
    expect(CPO_REMOTE_WINDOW_MS).toBe(60_000);
    expect(datasource().remoteTimeoutMs).toBe(DEFAULTS.hubjectRemoteTimeoutMs);
    expect(datasource().remoteTimeoutMs).toBeGreaterThan(60_000);
    expect(datasource().requestTimeoutMs).toBe(15_000);
  });

  it("refuses remoteTimeoutMs <= 60 s unless the explicit test override is passed", () => {
    expect(() => datasource({ remoteTimeoutMs: 60_000 })).toThrow(HubjectError);
    expect(() => datasource({ remoteTimeoutMs: 5_000 })).toThrow(/greater than 60000/);
    expect(datasource({ remoteTimeoutMs: 60_001 }).remoteTimeoutMs).toBe(60_001);
    expect(datasource({ remoteTimeoutMs: 100 }, true).remoteTimeoutMs).toBe(100);
  });

  it("refuses a bad ProviderID, a bad base URL and unreadable TLS files", () => {
    expect(() => datasource({ providerId: "DE*DCB*X" })).toThrow(expect.objectContaining({ kind: "CONFIGURATION" }));
    expect(() => datasource({ baseUrl: "ftp://x" })).toThrow(expect.objectContaining({ kind: "CONFIGURATION" }));
    expect(() => datasource({ tls: { certFile: "/nonexistent/cert.pem", keyFile: "/nonexistent/key.pem" } })).toThrow(
      expect.objectContaining({ kind: "CONFIGURATION" }),
    );
  });

  it("the paths come from oicpPaths", () => {
    expect(`/api/oicp/${oicpPaths.remoteStop(PROVIDER)}`).toBe(oicpRequestPath("eRoamingAuthorizeRemoteStop", PROVIDER));
  });

  it("after close() calls fail as unreachable", async () => {
    const ds = datasource();
    ds.close();
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "failed", reason: "unreachable" });
    expect(hubject.requests).toHaveLength(0);
  });
});

describe("logging", () => {
  it("logs the Process-ID with the operation and never a whole EvcoID", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ level: "debug" }, sink);
    hubject.answer({ json: example("02-remote-start.response.accepted"), headers: { "Process-ID": "proc-77" } });

    await datasource({ logger }).authorizeRemoteStart(startRequest);
    hubject.answer({ status: 500, text: "" });
    await datasource({ logger }).authorizeRemoteStart(startRequest);

    const entries = lines
      .join("")
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.some((e) => e.operation === "AuthorizeRemoteStart" && e.processId === "proc-77" && e.level === 20)).toBe(true);
    expect(lines.join("")).not.toContain(EVCO);
    expect(entries.some((e) => e.evco === "DE-DCB***")).toBe(true);
  });
});
