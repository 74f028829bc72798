// Shared by the simulator tests: a fake gateway OICP listener that records what the simulated
// CPO pushes, a bare HTTP client that sends requests exactly as the datasource will, and a count
// of the simulator's live timers.
import { createHook } from "node:async_hooks";
import http, { type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { performance } from "node:perf_hooks";
import { oicpPaths } from "../../src/oicp/wire/types.js";
import type { SimulatorPace } from "../../src/simulator/hubject.simulator.js";
import { eventually } from "../support/wait.js";

export const PROVIDER = "DE-DCB";
export const EVCO = "DE-DCB-C12345678-X";
export const FAST: Partial<SimulatorPace> = {
  answerDelayMs: 5,
  slowAnswerMs: 80,
  startDelayMs: 10,
  progressIntervalMs: 25,
  stopDelayMs: 10,
  cdrDelayMs: 10,
  // One real second is one hour of charging: 11 kW give 0.275 kWh per 25 ms.
  timeScale: 3600,
};

export interface Received {
  path: string;
  body: Record<string, unknown>;
  /** performance.now() when the gateway's acknowledgement was fully written. */
  ackedAt?: number;
}

/** Answers like the gateway's listener; `respond` can be swapped per test. */
export async function startFakeGateway() {
  const received: Received[] = [];
  let respond: (r: Received) => unknown = (r) => ({
    Result: true,
    StatusCode: { Code: "000" },
    SessionID: r.body.SessionID ?? null,
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const r: Received = { path: req.url ?? "", body: JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown> };
      received.push(r);
      res.on("finish", () => (r.ackedAt = performance.now()));
      res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify(respond(r)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    notifications: (type?: string) => received.filter((r) => r.path.endsWith("/charging-notifications") && (!type || r.body.Type === type)),
    cdrs: () => received.filter((r) => r.path.includes("/charge-detail-record")),
    /** "Start", "Progress", ..., "CDR" in arrival order. */
    kinds: () => received.map((r) => (r.path.includes("/charge-detail-record") ? "CDR" : (r.body.Type as string))),
    answerWith: (fn: (r: Received) => unknown) => {
      respond = fn;
    },
    /**
     * Resolves once no connection to this fake is open. The simulator opens one per delivery
     * (no keep-alive): every request it has sent by now has arrived, or was cut off.
     */
    idle: () =>
      eventually(
        () => new Promise<boolean>((resolve) => server.getConnections((error, count) => resolve(!error && count === 0))),
        "every connection to the fake gateway to close",
      ),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
export type FakeGateway = Awaited<ReturnType<typeof startFakeGateway>>;

export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- assertions read OICP JSON freely
  json: any;
  /** performance.now() when the whole answer had arrived. */
  at: number;
}

/**
 * node:http without keep-alive, so no client socket or timer outlives a test. `json` is undefined
 * when the body is not JSON. Rejects on a socket error, or after `timeoutMs` like a client giving up.
 */
export function post(url: string, body: unknown, options: { raw?: string; timeoutMs?: number } = {}): Promise<Answer> {
  const text = options.raw ?? JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: "POST", agent: false, headers: { "Content-Type": "application/json" } }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        const answerText = Buffer.concat(chunks).toString("utf8");
        const at = performance.now();
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: answerText, json: parseOrUndefined(answerText), at });
      });
    });
    if (options.timeoutMs !== undefined) req.setTimeout(options.timeoutMs, () => req.destroy(new Error("client gave up")));
    req.on("error", reject);
    req.end(text);
  });
}

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Timers the simulator's own code created (async_hooks "Timeout" resources whose creation stack
 * is in src/simulator/) that Node has not destroyed yet: process-wide counts are flaky, vitest has
 * timers of its own. `stop()` disables the hook.
 */
export function simulatorTimers() {
  const alive = new Set<number>();
  const hook = createHook({
    init(id, type) {
      if (type === "Timeout" && new Error().stack?.includes("/src/simulator/")) alive.add(id);
    },
    destroy(id) {
      alive.delete(id);
    },
  }).enable();
  return {
    alive,
    /**
     * How many are alive once Node has reported the cleared ones: it does so to destroy hooks
     * from an immediate, so this waits a few turns of the event loop, not so long that a leaked
     * timer would fire (and be destroyed) on its own.
     */
    async aliveAfterDestroyHooks(): Promise<number> {
      for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
      return alive.size;
    },
    stop: () => void hook.disable(),
  };
}

/** The four EMP calls against the simulator at `baseUrl()` (read per call: tests restart it). */
export function oicpClient(baseUrl: () => string) {
  return {
    start: (evseId: string, extra: Record<string, unknown> = {}, options: { timeoutMs?: number } = {}) =>
      post(
        `${baseUrl()}/${oicpPaths.remoteStart(PROVIDER)}`,
        {
          ProviderID: PROVIDER,
          EvseID: evseId,
          Identification: { RemoteIdentification: { EvcoID: EVCO } },
          EMPPartnerSessionID: "emp-1",
          PartnerProductID: "AC3",
          ...extra,
        },
        options,
      ),
    stop: (sessionId: string, evseId: string) =>
      post(`${baseUrl()}/${oicpPaths.remoteStop(PROVIDER)}`, { SessionID: sessionId, ProviderID: PROVIDER, EvseID: evseId }),
    statusById: (ids: string[]) => post(`${baseUrl()}/${oicpPaths.pullEvseStatusById(PROVIDER)}`, { ProviderID: PROVIDER, EvseID: ids }),
    getCdrs: (body: Record<string, unknown>, query = "?page=0&size=100") =>
      post(`${baseUrl()}/${oicpPaths.getChargeDetailRecords(PROVIDER)}${query}`, {
        ProviderID: PROVIDER,
        From: "2000-01-01T00:00:00+00:00",
        To: "2100-01-01T00:00:00+00:00",
        ...body,
      }),
  };
}
