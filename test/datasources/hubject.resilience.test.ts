// Retries, circuit breaker and configuration-problem logging of the Hubject datasource, against
// the real-socket fake. Requests are counted; wall-clock bounds are generous on purpose.
import { Writable } from "node:stream";
import { type Logger, pino } from "pino";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { HubjectDatasource, type HubjectDatasourceOptions, HubjectError } from "../../src/datasources/hubject.datasource.js";
import { DEFAULT_RESILIENCE, type HubjectResilienceOptions } from "../../src/oicp/client/resilience.js";
import type { RemoteCallOutcome } from "../../src/sessions/ports.js";
import { example } from "../support/examples.js";
import { eventually } from "../support/wait.js";
import { closedPort, FakeHubject, type Reply } from "./fake-hubject.js";
import { EMP_SESSION, EVCO, EVSE, HUBJECT_SESSION, PROVIDER } from "./ids.js";

const startRequest = { evseId: EVSE, evcoId: EVCO, empPartnerSessionId: EMP_SESSION };
const stopRequest = { hubjectSessionId: HUBJECT_SESSION, evseId: EVSE };

const OK: Reply = { json: example("17-pull-evse-status-by-id.response") };
const _ACCEPTED: Reply = { json: example("02-remote-start.response.accepted") };
const UNKNOWN_EVSE: Reply = { json: example("03-remote-start.response.rejected-unknown-evse") };
const CPO_TIMEOUT: Reply = { json: example("04-remote-start.response.cpo-timeout") };
const UNAUTHORIZED: Reply = { status: 401, json: example("20-hubject-http401-unauthorized.response"), headers: { "Process-ID": "p-017" } };
const BAD_REQUEST: Reply = { status: 400, json: example("19-hubject-http400-validation-error.response") };
const FORBIDDEN: Reply = { status: 403, text: "<html><body><h1>403 Forbidden</h1></body></html>" };
const http = (status: number): Reply => ({ status, text: "" });
/** A 200 whose body carries only an OICP StatusCode (what Hubject sends when a pull fails). */
const code = (value: string): Reply => ({ json: { StatusCode: { Code: value, Description: `code ${value}`, AdditionalInfo: null } } });

let hubject: FakeHubject;
const datasources: HubjectDatasource[] = [];

/** Millisecond backoff unless the test says otherwise; short remote timeouts allowed. */
function datasource(resilience: HubjectResilienceOptions = {}, extra: Partial<HubjectDatasourceOptions> = {}): HubjectDatasource {
  const ds = new HubjectDatasource(
    {
      baseUrl: hubject.baseUrl,
      providerId: PROVIDER,
      ...extra,
      resilience: { retryInitialDelayMs: 5, retryMaxDelayMs: 40, ...resilience },
    },
    { allowShortRemoteTimeout: true },
  );
  datasources.push(ds);
  return ds;
}

type LogEntry = Record<string, unknown> & { level: number; msg: string };
function captureLogs(): { logger: Logger; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split("\n")) if (line.trim()) entries.push(JSON.parse(line) as LogEntry);
      done();
    },
  });
  return { logger: pino({ level: "debug" }, sink), entries };
}

/** The debug line send() writes per network attempt that failed (it carries the duration). */
const attemptsLogged = (entries: LogEntry[]) =>
  entries.filter((e) => e.msg === "hubject call failed" && e.level === 20 && e.durationMs !== undefined);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const caught = (promise: Promise<unknown>): Promise<unknown> =>
  promise.then(
    () => "resolved",
    (error: unknown) => error,
  );
const pullCdrs = (ds: HubjectDatasource) =>
  ds.getChargeDetailRecords({ from: new Date("2024-06-12T00:00:00Z"), to: new Date("2024-06-13T00:00:00Z") });

beforeEach(async () => {
  hubject = await FakeHubject.start();
});
afterEach(async () => {
  vi.useRealTimers();
  for (const ds of datasources.splice(0)) ds.close();
  await hubject.close();
});

/** The breaker reads the time from Date.now(): a clock the test moves (sockets and timers stay real). */
const controlledClock = () => vi.useFakeTimers({ toFake: ["Date"] });

describe("configuration", () => {
  it("defaults: 3 extra attempts, 200 ms .. 5 s backoff, 5 failures open the circuit for 30 s", () => {
    expect(DEFAULT_RESILIENCE).toEqual({
      retryAttempts: 3,
      retryInitialDelayMs: 200,
      retryMaxDelayMs: 5_000,
      breakerFailures: 5,
      breakerHalfOpenAfterMs: 30_000,
    });
    const ds = new HubjectDatasource({ baseUrl: hubject.baseUrl, providerId: PROVIDER });
    datasources.push(ds);
    expect(ds.resilience).toEqual(DEFAULT_RESILIENCE);
    expect(ds.circuitState()).toBe("closed");
    expect(ds.configurationProblem()).toBeNull();
  });

  it("refuses nonsense values", () => {
    for (const resilience of [
      { retryAttempts: -1 },
      { retryAttempts: 1.5 },
      { breakerFailures: 0 },
      { retryInitialDelayMs: 0 },
      { breakerHalfOpenAfterMs: -5 },
      { retryInitialDelayMs: 500, retryMaxDelayMs: 100 },
    ]) {
      expect(() => datasource(resilience)).toThrow(expect.objectContaining({ name: "HubjectError", kind: "CONFIGURATION" }));
    }
    expect(datasource({ retryAttempts: 0 }).resilience.retryAttempts).toBe(0);
  });
});

describe("safe calls retry transient failures with backoff", () => {
  it.each<[string, Reply[], number]>([
    ["503, 503, 200", [http(503), http(503), OK], 3],
    ["408, 200", [http(408), OK], 2],
    ["500, 502, 504, 200", [http(500), http(502), http(504), OK], 4],
    ["429 without Retry-After, 200", [{ status: 429, json: {} }, OK], 2],
    ["connection lost (reset after the request was read), 200", [{ destroy: true }, OK], 2],
    ["StatusCode 001 in a 200, 200", [code("001"), OK], 2],
    ["StatusCode 002 in a 200, 200", [code("002"), OK], 2],
    ["StatusCode 021 in a 200, 200", [code("021"), OK], 2],
    ["StatusCode 320 in a 200, 200", [code("320"), OK], 2],
    ["StatusCode 009 once, 200", [code("009"), OK], 2],
  ])("status by id: %s -> %i requests and success", async (_name, replies, requests) => {
    hubject.script(replies[0]!, ...replies.slice(1));
    const statuses = await datasource().pullEvseStatusById([EVSE]);
    expect(statuses.get(EVSE)).toBe("Occupied");
    expect(hubject.requests).toHaveLength(requests);
    // The very same request every time.
    for (const req of hubject.requests) expect(req.rawBody).toBe(hubject.requests[0]!.rawBody);
  });

  it("timeout, 200 -> 2 requests and success", async () => {
    hubject.script({ hang: true }, OK);
    const statuses = await datasource({}, { requestTimeoutMs: 300 }).pullEvseStatusById([EVSE]);
    expect(statuses.get(EVSE)).toBe("Occupied");
    expect(hubject.requests).toHaveLength(2);
  });

  it.each<[string, Reply, Record<string, unknown>]>([
    ["HTTP 503", http(503), { httpStatus: 503 }],
    ["HTTP 408", http(408), { httpStatus: 408 }],
    ["HTTP 429", { status: 429, json: {} }, { httpStatus: 429 }],
    ["StatusCode 001", code("001"), { httpStatus: 200, status: expect.objectContaining({ code: "001" }) }],
    ["connection lost", { destroy: true }, { httpStatus: null }],
  ])("%s every time: 3 extra attempts exhausted -> 4 requests, then UNAVAILABLE", async (_name, reply, expected) => {
    hubject.answer(reply);
    const error = await caught(datasource().pullEvseStatusById([EVSE]));
    expect(error).toBeInstanceOf(HubjectError);
    expect(error).toMatchObject({ kind: "UNAVAILABLE", retryable: true, circuitOpen: false, ...expected });
    expect(hubject.requests).toHaveLength(4);
  });

  it("timeout every time -> 4 requests, then UNAVAILABLE", async () => {
    hubject.answer({ hang: true });
    await expect(datasource({}, { requestTimeoutMs: 150 }).pullEvseStatusById([EVSE])).rejects.toMatchObject({
      kind: "UNAVAILABLE",
      retryable: true,
    });
    expect(hubject.requests).toHaveLength(4);
  });

  it("could not connect every time -> 4 attempts (counted in the debug log), then UNAVAILABLE", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource({}, { baseUrl: `http://127.0.0.1:${await closedPort()}/api/oicp`, logger });
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "UNAVAILABLE", retryable: true });
    expect(attemptsLogged(entries).filter((e) => e.code === "ECONNREFUSED")).toHaveLength(4);
    const retries = entries.filter((e) => e.msg === "hubject call failed transiently: retrying");
    expect(retries.map((e) => e.attempt)).toEqual([1, 2, 3]);
    expect(entries.some((e) => e.msg === "hubject call still failing: giving up" && e.attempts === 4 && e.level === 40)).toBe(true);
  });

  it("009 is retried once only: 009, 009 -> 2 requests, then UNAVAILABLE", async () => {
    hubject.answer(code("009"));
    await expect(datasource().pullEvseStatusById([EVSE])).rejects.toMatchObject({
      kind: "UNAVAILABLE",
      status: { code: "009" },
    });
    expect(hubject.requests).toHaveLength(2);
  });

  it("retryAttempts is the number of extra attempts: 1 -> 2 requests, 0 -> 1 request", async () => {
    hubject.answer(http(503));
    await expect(datasource({ retryAttempts: 1 }).pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "UNAVAILABLE" });
    expect(hubject.requests).toHaveLength(2);
    await expect(datasource({ retryAttempts: 0 }).pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "UNAVAILABLE" });
    expect(hubject.requests).toHaveLength(3);
  });

  it("get CDRs retries too: 503, 200 -> 2 identical requests (same page and body)", async () => {
    hubject.script(http(503), { json: { content: [], number: 0, totalPages: 0, last: true, StatusCode: { Code: "000" } } });
    await expect(pullCdrs(datasource())).resolves.toEqual({ records: [], last: true, totalPages: 0 });
    expect(hubject.requests).toHaveLength(2);
    const [first, second] = hubject.requests;
    expect(second!.rawBody).toBe(first!.rawBody);
    expect(Object.fromEntries(second!.query)).toEqual(Object.fromEntries(first!.query));
  });

  it("backs off exponentially: gaps grow (initial 40 ms, half jitter -> [20,40), [40,80), [80,160))", async () => {
    hubject.answer(http(503));
    await caught(datasource({ retryInitialDelayMs: 40, retryMaxDelayMs: 1_000 }).pullEvseStatusById([EVSE]));
    expect(hubject.requests).toHaveLength(4);
    const gaps = hubject.gaps();
    expect(gaps[0]).toBeGreaterThanOrEqual(15);
    expect(gaps[1]).toBeGreaterThanOrEqual(35);
    expect(gaps[2]).toBeGreaterThanOrEqual(75);
    expect(gaps.reduce((a, b) => a + b, 0)).toBeLessThan(5_000);
  });
});

describe("Retry-After on 429", () => {
  it("is honoured: Retry-After 1 -> the retry comes about a second later", async () => {
    hubject.script({ status: 429, json: {}, headers: { "Retry-After": "1" } }, OK);
    await datasource({ retryMaxDelayMs: 5_000 }).pullEvseStatusById([EVSE]);
    expect(hubject.requests).toHaveLength(2);
    expect(hubject.gaps()[0]).toBeGreaterThanOrEqual(900);
    expect(hubject.gaps()[0]).toBeLessThan(4_000);
  });

  it("is honoured on 503 too, and ignored when unreadable", async () => {
    hubject.script(
      { status: 503, text: "", headers: { "Retry-After": "1" } },
      { status: 429, json: {}, headers: { "Retry-After": "soon" } },
      OK,
    );
    await datasource({ retryMaxDelayMs: 5_000 }).pullEvseStatusById([EVSE]);
    expect(hubject.requests).toHaveLength(3);
    expect(hubject.gaps()[0]).toBeGreaterThanOrEqual(900);
    expect(hubject.gaps()[1]).toBeLessThan(900); // exponential backoff instead
  });

  it("is honoured as sent, never cut: Retry-After 120 with a 300 ms retry cap ends the call, and nothing is sent for 120 s", async () => {
    hubject.script({ status: 429, json: {}, headers: { "Retry-After": "120" } }, OK);
    const ds = datasource({ retryMaxDelayMs: 300 });
    const refused = await ds.pullEvseStatusById([EVSE]).catch((error: unknown) => error);
    expect(refused).toMatchObject({ kind: "UNAVAILABLE", retryable: true, httpStatus: 429 });
    expect((refused as { retryAfterMs: number }).retryAfterMs).toBe(120_000);
    expect(hubject.requests).toHaveLength(1);

    // The next call waits its turn: answered at once, without a request, saying how long is left.
    const held = await ds.pullEvseStatusById([EVSE]).catch((error: unknown) => error);
    expect(held).toMatchObject({ kind: "UNAVAILABLE", retryable: true });
    expect((held as { retryAfterMs: number }).retryAfterMs).toBeGreaterThan(110_000);
    expect((held as { retryAfterMs: number }).retryAfterMs).toBeLessThanOrEqual(120_000);
    expect(hubject.requests).toHaveLength(1);
  });

  it("holds only the operation Hubject limited: a remote start still goes out while status reads wait", async () => {
    hubject.script({ status: 429, json: {}, headers: { "Retry-After": "120" } });
    const ds = datasource({ retryMaxDelayMs: 300 });
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "UNAVAILABLE" });
    hubject.answer({ json: example("02-remote-start.response.accepted") });
    const start = await ds.authorizeRemoteStart(startRequest);
    expect(start).toMatchObject({ kind: "answered", result: true });
    expect(hubject.requests).toHaveLength(2);
  });
});

describe("never retried", () => {
  it.each<[string, Reply, string]>([
    ["HTTP 400", BAD_REQUEST, "INVALID_REQUEST"],
    ["HTTP 401 / 017", UNAUTHORIZED, "CONFIGURATION"],
    ["HTTP 403", FORBIDDEN, "CONFIGURATION"],
    ["HTTP 404", { status: 404, json: { message: "Data not found" } }, "CONFIGURATION"],
    ["StatusCode 017 in a 200", code("017"), "CONFIGURATION"],
    ["StatusCode 022 in a 200", code("022"), "INVALID_REQUEST"],
    ["StatusCode 018 in a 200", code("018"), "INVALID_REQUEST"],
    ["StatusCode 603 in a 200", code("603"), "BAD_RESPONSE"],
    ["StatusCode 310 in a 200", code("310"), "UNAVAILABLE"],
    ["200 that is not JSON", { text: "<html>maintenance</html>" }, "BAD_RESPONSE"],
  ])("safe call, %s -> exactly 1 request", async (_name, reply, kind) => {
    hubject.answer(reply);
    await expect(datasource().pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind });
    // The call settles only after its last attempt: a retry would be among the requests by now.
    expect(hubject.requests).toHaveLength(1);
  });

  it("safe call, TLS failure -> CONFIGURATION after one attempt", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource({}, { baseUrl: `https://127.0.0.1:${hubject.port}/api/oicp`, logger });
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "CONFIGURATION", retryable: false });
    expect(attemptsLogged(entries)).toHaveLength(1);
    expect(hubject.requests).toHaveLength(0);
  });

  const remoteCases: Array<[string, Reply, Partial<RemoteCallOutcome>]> = [
    ["HTTP 503", http(503), { kind: "unknown", reason: "upstream-error" }],
    ["HTTP 500", http(500), { kind: "unknown", reason: "upstream-error" }],
    ["HTTP 408", http(408), { kind: "unknown", reason: "upstream-error" }],
    ["HTTP 429 with Retry-After", { status: 429, json: {}, headers: { "Retry-After": "1" } }, { kind: "failed", reason: "rate-limited" }],
    ["connection reset", { destroy: true }, { kind: "unknown", reason: "connection-lost" }],
    ["timeout", { hang: true }, { kind: "unknown", reason: "timeout" }],
    ["Result false with 001", { json: { Result: false, StatusCode: { Code: "001" } } }, { kind: "answered", result: false }],
    ["Result false with 009", { json: { Result: false, StatusCode: { Code: "009" } } }, { kind: "answered", result: false }],
  ];

  it.each(remoteCases)("remote start, %s -> exactly 1 request, even with 5 retry attempts configured", async (_name, reply, expected) => {
    hubject.answer(reply);
    const outcome = await datasource({ retryAttempts: 5 }, { remoteTimeoutMs: 200 }).authorizeRemoteStart(startRequest);
    expect(outcome).toMatchObject(expected);
    // The call settles only after its last attempt: a retry would be among the requests by now.
    expect(hubject.requests).toHaveLength(1);
  });

  it.each(remoteCases)("remote stop, %s -> exactly 1 request", async (_name, reply, expected) => {
    hubject.answer(reply);
    const outcome = await datasource({ retryAttempts: 5 }, { remoteTimeoutMs: 200 }).authorizeRemoteStop(stopRequest);
    expect(outcome).toMatchObject(expected);
    // As above: a retry would have been sent before the call settled.
    expect(hubject.requests).toHaveLength(1);
  });
});

describe("circuit breaker", () => {
  it("opens after N consecutive failures; then safe and remote calls fail fast without a request", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource({ retryAttempts: 0, breakerFailures: 3, breakerHalfOpenAfterMs: 60_000 }, { logger });
    hubject.answer({ ...http(503), headers: { "Process-ID": "p-503" } });

    for (let i = 0; i < 2; i++) await caught(ds.pullEvseStatusById([EVSE]));
    expect(ds.circuitState()).toBe("closed");
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(hubject.requests).toHaveLength(3);
    expect(ds.circuitState()).toBe("open");
    const opened = entries.filter((e) => e.circuit === "open");
    expect(opened).toHaveLength(1);
    expect(opened[0]).toMatchObject({
      level: 40,
      cause: "HTTP 503",
      operation: "PullEvseStatusById",
      processId: "p-503",
      consecutiveFailures: 3,
    });

    const error = await caught(ds.pullEvseStatusById([EVSE]));
    expect(error).toBeInstanceOf(HubjectError);
    expect(error).toMatchObject({ kind: "UNAVAILABLE", circuitOpen: true, retryable: true, httpStatus: null });
    await expect(pullCdrs(ds)).rejects.toMatchObject({ kind: "UNAVAILABLE", circuitOpen: true });

    for (const outcome of [await ds.authorizeRemoteStart(startRequest), await ds.authorizeRemoteStop(stopRequest)]) {
      expect(outcome).toMatchObject({ kind: "failed", reason: "circuit-open", httpStatus: null, processId: null, status: { code: "320" } });
      expect(outcome.kind === "failed" && outcome.status.additionalInfo).toMatch(/circuit breaker open/);
    }
    expect(hubject.requests).toHaveLength(3);
  });

  it("after the half-open delay one trial request goes out; success closes it (open -> half-open -> closed)", async () => {
    controlledClock();
    const { logger, entries } = captureLogs();
    const ds = datasource({ retryAttempts: 0, breakerFailures: 2, breakerHalfOpenAfterMs: 200 }, { logger });
    hubject.answer(http(503));
    await caught(ds.pullEvseStatusById([EVSE]));
    await ds.authorizeRemoteStart(startRequest); // remote calls count too
    expect(ds.circuitState()).toBe("open");
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ circuitOpen: true });
    expect(hubject.requests).toHaveLength(2);

    vi.advanceTimersByTime(250); // past the half-open delay
    expect(ds.circuitState()).toBe("half-open"); // the next call will be the trial
    hubject.answer({ ...OK, delayMs: 150 });
    const trial = ds.pullEvseStatusById([EVSE]);
    await eventually(() => hubject.requests.length === 3, "the trial request at Hubject"); // its answer takes 150 ms
    expect(ds.circuitState()).toBe("half-open");
    const waiting = ds.pullEvseStatusById([EVSE]); // waits for the trial, sends nothing meanwhile
    await sleep(20);
    expect(hubject.requests).toHaveLength(3);

    await expect(trial).resolves.toBeInstanceOf(Map);
    await expect(waiting).resolves.toBeInstanceOf(Map);
    expect(ds.circuitState()).toBe("closed");
    expect(hubject.requests).toHaveLength(4);
    expect(entries.filter((e) => e.circuit === "closed" && e.level === 30)).toHaveLength(1);
    expect(entries.filter((e) => e.circuit === "half-open")).toHaveLength(1);
  });

  it("a failed trial is one request (no retries) and re-opens the circuit", async () => {
    const { logger, entries } = captureLogs();
    controlledClock();
    const ds = datasource({ retryAttempts: 3, breakerFailures: 1, breakerHalfOpenAfterMs: 200 }, { logger });
    hubject.answer(http(503));
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(hubject.requests).toHaveLength(4);
    expect(ds.circuitState()).toBe("open");

    vi.advanceTimersByTime(250); // past the half-open delay
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "UNAVAILABLE", circuitOpen: false, httpStatus: 503 });
    expect(hubject.requests).toHaveLength(5);
    expect(ds.circuitState()).toBe("open");
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ circuitOpen: true });
    expect(hubject.requests).toHaveLength(5);
    expect(entries.filter((e) => e.circuit === "open" && e.level === 40).map((e) => e.msg)).toEqual([
      expect.stringContaining("opened after 1 consecutive"),
      "Hubject circuit re-opened: the trial call failed",
    ]);
  });

  it("retries of one safe call count as ONE breaker outcome", async () => {
    const ds = datasource({ retryAttempts: 3, breakerFailures: 2, breakerHalfOpenAfterMs: 60_000 });
    hubject.answer(http(503));
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(hubject.requests).toHaveLength(4); // 4 failed requests ...
    expect(ds.circuitState()).toBe("closed"); // ... but one failed call
    await caught(pullCdrs(ds));
    expect(hubject.requests).toHaveLength(8);
    expect(ds.circuitState()).toBe("open");
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ circuitOpen: true });
    expect(hubject.requests).toHaveLength(8);
  });

  it("a call that succeeds after retries counts as a success", async () => {
    const ds = datasource({ retryAttempts: 3, breakerFailures: 2, breakerHalfOpenAfterMs: 60_000 });
    hubject.answer(http(503));
    await caught(ds.pullEvseStatusById([EVSE]));
    hubject.script(http(503), http(503), OK);
    await ds.pullEvseStatusById([EVSE]);
    hubject.answer(http(503));
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(ds.circuitState()).toBe("closed"); // failed, succeeded, failed: never 2 in a row
  });

  it("remote start/stop 5xx, connection lost and timeout count (one request each)", async () => {
    const ds = datasource({ breakerFailures: 3, breakerHalfOpenAfterMs: 60_000 }, { remoteTimeoutMs: 200 });
    hubject.script(http(503), { destroy: true }, { hang: true });
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "unknown", reason: "upstream-error" });
    expect(await ds.authorizeRemoteStop(stopRequest)).toMatchObject({ kind: "unknown", reason: "connection-lost" });
    expect(ds.circuitState()).toBe("closed");
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "unknown", reason: "timeout" });
    expect(ds.circuitState()).toBe("open");
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "failed", reason: "circuit-open" });
    expect(hubject.requests).toHaveLength(3);
  });

  it("could not connect counts", async () => {
    const ds = datasource(
      { retryAttempts: 0, breakerFailures: 2, breakerHalfOpenAfterMs: 60_000 },
      { baseUrl: `http://127.0.0.1:${await closedPort()}/api/oicp` },
    );
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "failed", reason: "unreachable" });
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(ds.circuitState()).toBe("open");
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "failed", reason: "circuit-open" });
  });

  it("603 / 310 answers, 4xx and 429 do not open it; a business answer resets the count", async () => {
    const ds = datasource({ retryAttempts: 0, breakerFailures: 2, breakerHalfOpenAfterMs: 60_000 });
    hubject.answer(UNKNOWN_EVSE);
    for (let i = 0; i < 4; i++)
      expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "answered", status: { code: "603" } });
    hubject.answer(CPO_TIMEOUT);
    for (let i = 0; i < 4; i++)
      expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "answered", status: { code: "310" } });
    for (const reply of [BAD_REQUEST, UNAUTHORIZED, FORBIDDEN, { status: 404, json: {} }, { status: 429, json: {} }, code("001")]) {
      hubject.answer(reply);
      await caught(ds.pullEvseStatusById([EVSE]));
      await caught(ds.pullEvseStatusById([EVSE]));
      await ds.authorizeRemoteStart(startRequest);
    }
    expect(ds.circuitState()).toBe("closed");

    hubject.script(http(503), UNKNOWN_EVSE, http(502));
    await ds.authorizeRemoteStart(startRequest);
    await ds.authorizeRemoteStart(startRequest);
    await ds.authorizeRemoteStart(startRequest);
    expect(ds.circuitState()).toBe("closed"); // 503, 603, 502: never two in a row
    await ds.authorizeRemoteStart(startRequest);
    expect(ds.circuitState()).toBe("open");
    expect(hubject.requests).toHaveLength(8 + 6 * 3 + 4);
  });

  it("TLS failures are configuration, not Hubject's health: they do not open it", async () => {
    const ds = datasource({ breakerFailures: 1 }, { baseUrl: `https://127.0.0.1:${hubject.port}/api/oicp` });
    await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "CONFIGURATION" });
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "failed", reason: "unreachable" });
    expect(ds.circuitState()).toBe("closed");
  });

  it("a retrying call stops retrying once another call has opened the circuit", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource(
      {
        retryAttempts: 3,
        retryInitialDelayMs: 200,
        retryMaxDelayMs: 400,
        breakerFailures: 1,
        breakerHalfOpenAfterMs: 60_000,
      },
      { logger },
    );
    hubject.answer(http(503));
    const pull = caught(ds.pullEvseStatusById([EVSE])); // first attempt fails, then backs off >= 100 ms
    // The retry policy logs the backoff as it starts it.
    await eventually(() => entries.some((e) => e.msg === "hubject call failed transiently: retrying"), "the pull to back off");
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "unknown" }); // opens the circuit
    expect(ds.circuitState()).toBe("open");
    expect(await pull).toMatchObject({ kind: "UNAVAILABLE", httpStatus: 503, circuitOpen: false });
    expect(hubject.requests).toHaveLength(2);
  });
});

describe("configuration problems are logged at error level once per kind", () => {
  const errors = (entries: LogEntry[]) => entries.filter((e) => e.level >= 50);

  it("repeated 017 (HTTP 401): one error naming HUBJECT_PROVIDER_ID and the certificate, then debug until a success", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource({}, { logger });
    hubject.answer(UNAUTHORIZED);

    for (let i = 0; i < 3; i++) await expect(ds.pullEvseStatusById([EVSE])).rejects.toMatchObject({ kind: "CONFIGURATION" });
    expect(await ds.authorizeRemoteStart(startRequest)).toMatchObject({ kind: "failed", reason: "unauthorized" });
    expect(hubject.requests).toHaveLength(4); // and not retried

    expect(errors(entries)).toHaveLength(1);
    expect(errors(entries)[0]).toMatchObject({ configurationProblem: "unauthorized", processId: "p-017", httpStatus: 401 });
    expect(errors(entries)[0]!.msg).toMatch(/HUBJECT_PROVIDER_ID/);
    expect(errors(entries)[0]!.msg).toMatch(/certificate/);
    expect(entries.filter((e) => e.configurationProblem === "unauthorized" && e.level === 20)).toHaveLength(3);
    expect(entries.filter((e) => e.level === 40)).toHaveLength(0); // no per-call warnings either

    const problem = ds.configurationProblem();
    expect(problem).toMatchObject({ kind: "unauthorized", message: expect.stringContaining("HUBJECT_PROVIDER_ID") });
    expect(problem!.since).toBeInstanceOf(Date);

    hubject.answer(OK);
    await ds.pullEvseStatusById([EVSE]);
    expect(ds.configurationProblem()).toBeNull();

    hubject.answer(UNAUTHORIZED);
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(errors(entries)).toHaveLength(2); // reset by the success: reported again
  });

  it("017 in a 200 acknowledgement counts as the same kind", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource({}, { logger });
    hubject.answer({ json: { Result: false, StatusCode: { Code: "017", Description: "Unauthorized Access" } } });
    await ds.authorizeRemoteStart(startRequest);
    await ds.authorizeRemoteStop(stopRequest);
    expect(errors(entries)).toHaveLength(1);
    expect(ds.configurationProblem()?.kind).toBe("unauthorized");
  });

  it("403 names the egress IP allow-list; a different kind is logged once on its own", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource({}, { logger });
    hubject.answer(FORBIDDEN);
    await caught(ds.pullEvseStatusById([EVSE]));
    await caught(ds.pullEvseStatusById([EVSE]));
    hubject.answer(UNAUTHORIZED);
    await caught(ds.pullEvseStatusById([EVSE]));
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(errors(entries).map((e) => e.configurationProblem)).toEqual(["forbidden", "unauthorized"]);
    expect(errors(entries)[0]!.msg).toMatch(/allow-list/);
    expect(ds.configurationProblem()?.kind).toBe("unauthorized");
  });

  it("TLS failures name HUBJECT_CLIENT_CERT / HUBJECT_CLIENT_KEY / HUBJECT_CA", async () => {
    const { logger, entries } = captureLogs();
    const ds = datasource({}, { logger, baseUrl: `https://127.0.0.1:${hubject.port}/api/oicp` });
    await caught(ds.pullEvseStatusById([EVSE]));
    await ds.authorizeRemoteStart(startRequest);
    await caught(ds.pullEvseStatusById([EVSE]));
    expect(errors(entries)).toHaveLength(1);
    expect(errors(entries)[0]!.msg).toMatch(/HUBJECT_CLIENT_CERT.*HUBJECT_CLIENT_KEY.*HUBJECT_CA/);
    expect(ds.configurationProblem()).toMatchObject({ kind: "tls" });
  });
});

describe("chargeDetailRecordPages", () => {
  const cdr = (n: number) => ({
    ...example("14-charge-detail-record.request"),
    SessionID: `5c1a7e8e-3b8f-4f5a-9d2e-00000000000${n}`,
  });
  const page = (number: number, records: unknown[], totalPages: number) => ({
    json: {
      content: records,
      number,
      size: 2,
      totalPages,
      first: number === 0,
      last: number === totalPages - 1,
      StatusCode: { Code: "000" },
    },
  });

  it("yields every page until last, retrying a failing page", async () => {
    let failedOnce = false;
    hubject.responder = (req) => {
      const n = Number(req.query.get("page"));
      if (n === 1 && !failedOnce) {
        failedOnce = true;
        return http(503);
      }
      return n === 0 ? page(0, [cdr(1), cdr(2)], 3) : n === 1 ? page(1, [cdr(3), cdr(4)], 3) : page(2, [cdr(5)], 3);
    };
    const ds = datasource();

    const pages: string[][] = [];
    for await (const records of ds.chargeDetailRecordPages({
      from: new Date("2024-06-12T00:00:00Z"),
      to: new Date("2024-06-13T00:00:00Z"),
      cdrForwarded: false,
      pageSize: 2,
    })) {
      pages.push(records.map((r) => r.SessionID.slice(-1)));
    }

    expect(pages).toEqual([["1", "2"], ["3", "4"], ["5"]]);
    expect(hubject.requests.map((r) => Object.fromEntries(r.query))).toEqual([
      { page: "0", size: "2" },
      { page: "1", size: "2" },
      { page: "1", size: "2" },
      { page: "2", size: "2" },
    ]);
    for (const req of hubject.requests) expect(req.body).toMatchObject({ ProviderID: PROVIDER, CDRForwarded: false });
  });

  it("one empty last page -> nothing yielded, one request", async () => {
    hubject.answer(page(0, [], 1));
    const ds = datasource();
    const pages: unknown[] = [];
    for await (const records of ds.chargeDetailRecordPages({ from: new Date(0), to: new Date(1000) })) pages.push(records);
    expect(pages).toEqual([]);
    expect(hubject.requests).toHaveLength(1);
    expect(hubject.requests[0]!.query.get("size")).toBe("100");
  });

  it("a page that keeps failing ends the iteration with its HubjectError after the pages already yielded", async () => {
    hubject.responder = (req) => (req.query.get("page") === "0" ? page(0, [cdr(1)], 2) : http(503));
    const ds = datasource({ retryAttempts: 1 });
    const pages: unknown[] = [];
    const error = await caught(
      (async () => {
        for await (const records of ds.chargeDetailRecordPages({ from: new Date(0), to: new Date(1000) })) pages.push(records);
      })(),
    );
    expect(pages).toHaveLength(1);
    expect(error).toMatchObject({ name: "HubjectError", kind: "UNAVAILABLE" });
    expect(hubject.requests).toHaveLength(3);
  });
});
