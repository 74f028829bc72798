// The session use cases on in-process parts: the real SQL store in memory, the real in-process
// fan-out (recorded), the real OICP reader on the example payloads, a controlled clock, and a
// scripted Hubject whose answers the test gives (and may hold back until it says so).
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import type { Logger } from "../../src/logger.js";
import { oicpInboundReader } from "../../src/oicp/inbound/parse.js";
import { createInProcessSessionEvents } from "../../src/pubsub/in-process.js";
import type {
  Clock,
  MutationLimits,
  ParsedInbound,
  PublishOptions,
  RemoteCallOutcome,
  RemoteCharging,
  RemoteStartRequest,
  RemoteStopRequest,
  SessionEvents,
  SessionMetrics,
  SessionTopic,
} from "../../src/sessions/ports.js";
import type { ChargingSession, Driver } from "../../src/sessions/session.js";
import { type InboundDelivery, SessionService } from "../../src/sessions/session.service.js";
import type { NewSession } from "../../src/sessions/session.store.js";
import { openSqlStore } from "../../src/store/sql/database.js";
import type { SqlSessionStore } from "../../src/store/sql/sql.store.js";
import { example } from "../support/examples.js";

// ---- ids and time, as in the example payloads (test/fixtures/oicp)

export const EVSE = "DE*ABC*E1234*1";
export const OTHER_EVSE = "DE*ABC*E1234*2";
export const CONTRACT = "DE-DCB-C12345678-X";
export const OTHER_CONTRACT = "DE-DCB-C87654321-Y";
/** The SessionID of the example payloads. */
export const HUBJECT_ID = "5c1a7e8e-3b8f-4f5a-9d2e-7a1b2c3d4e5f";
/** Shortly before the example session's SessionStart (2024-06-12T18:02:41+02:00). */
export const T0 = new Date("2024-06-12T16:00:00.000Z");
export const later = (ms: number, from: Date = T0) => new Date(from.getTime() + ms);

export const silentLogger: Logger = pino({ level: "silent" });

/** A driver as the token describes them. */
export const driver = (id = "alice", evcoIds: readonly string[] = [CONTRACT]): Driver => ({ id, evcoIds });

/** A session row as a use case would create it. */
export const newSession = (overrides: Partial<NewSession> = {}): NewSession => ({
  id: randomUUID(),
  driverId: "alice",
  evseId: EVSE,
  evcoId: CONTRACT,
  partnerProductId: null,
  status: "REQUESTED",
  requestedAt: T0,
  ...overrides,
});

export async function openStore(): Promise<SqlSessionStore> {
  const store = openSqlStore({ url: ":memory:" });
  await store.migrate();
  return store;
}

export class ManualClock implements Clock {
  constructor(private at: Date = T0) {}
  now(): Date {
    return new Date(this.at);
  }
  advance(ms: number): Date {
    this.at = later(ms, this.at);
    return this.now();
  }
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

// ---- Hubject's answers

const status = (code: string, description: string | null = null) => ({ code, description, additionalInfo: null });

export const outcome = {
  accepted: (hubjectSessionId: string | null = randomUUID(), cpoPartnerSessionId: string | null = "CPO-778812"): RemoteCallOutcome => ({
    kind: "answered",
    result: true,
    status: status("000", "Success"),
    hubjectSessionId,
    cpoPartnerSessionId,
    empPartnerSessionId: null,
    processId: "process-1",
  }),
  refused: (code: string, hubjectSessionId: string | null = null): RemoteCallOutcome => ({
    kind: "answered",
    result: false,
    status: status(code),
    hubjectSessionId,
    cpoPartnerSessionId: null,
    empPartnerSessionId: null,
    processId: "process-1",
  }),
  unknown: (reason: Extract<RemoteCallOutcome, { kind: "unknown" }>["reason"] = "timeout"): RemoteCallOutcome => ({
    kind: "unknown",
    reason,
    detail: `lost: ${reason}`,
    processId: null,
  }),
  /** As the OICP client reports them: a code synthesized when Hubject sent none (320, 017, 022). */
  failed: (
    reason: Extract<RemoteCallOutcome, { kind: "failed" }>["reason"],
    code: string,
    httpStatus: number | null = null,
  ): RemoteCallOutcome => ({
    kind: "failed",
    reason,
    status: status(code),
    httpStatus,
    detail: `failed: ${reason}`,
    processId: null,
  }),
};

type Answer = RemoteCallOutcome | Promise<RemoteCallOutcome>;

/**
 * RemoteCharging as a script: each call takes the next answer given (accepted when none is left)
 * and is recorded. `nextCall()` resolves when the next call arrives.
 */
export class ScriptedHubject implements RemoteCharging {
  readonly starts: RemoteStartRequest[] = [];
  readonly stops: RemoteStopRequest[] = [];
  private readonly startAnswers: Answer[] = [];
  private readonly stopAnswers: Answer[] = [];
  private waiting: (() => void)[] = [];

  answerStart(...answers: Answer[]): this {
    this.startAnswers.push(...answers);
    return this;
  }

  answerStop(...answers: Answer[]): this {
    this.stopAnswers.push(...answers);
    return this;
  }

  /** Holds the next start back until the test releases it. */
  holdStart(): Deferred<RemoteCallOutcome> {
    const held = deferred<RemoteCallOutcome>();
    this.answerStart(held.promise);
    return held;
  }

  holdStop(): Deferred<RemoteCallOutcome> {
    const held = deferred<RemoteCallOutcome>();
    this.answerStop(held.promise);
    return held;
  }

  nextCall(): Promise<void> {
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  async authorizeRemoteStart(req: RemoteStartRequest): Promise<RemoteCallOutcome> {
    this.starts.push(req);
    this.called();
    return this.startAnswers.shift() ?? outcome.accepted();
  }

  async authorizeRemoteStop(req: RemoteStopRequest): Promise<RemoteCallOutcome> {
    this.stops.push(req);
    this.called();
    return this.stopAnswers.shift() ?? outcome.accepted(req.hubjectSessionId);
  }

  private called(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

// ---- the fan-out, recorded

export interface RecordingEvents extends SessionEvents {
  published: { session: ChargingSession; reannounce: boolean }[];
}

/** The real in-process fan-out, with every publish recorded. */
export function recordingEvents(): RecordingEvents {
  const real = createInProcessSessionEvents({ logger: silentLogger });
  const published: RecordingEvents["published"] = [];
  return {
    published,
    publish(session: ChargingSession, options?: PublishOptions) {
      published.push({ session, reannounce: options?.reannounce === true });
      real.publish(session, options);
    },
    subscribe: (topic: SessionTopic) => real.subscribe(topic),
    ping: () => real.ping(),
    close: () => real.close(),
  };
}

export interface Collector {
  items: ChargingSession[];
  /** The first session delivered (already, or later) that matches. */
  until(matches: (session: ChargingSession) => boolean): Promise<ChargingSession>;
  stop(): Promise<void>;
}

/** Subscribes now and keeps every session delivered. */
export function collect(events: SessionEvents, topic: SessionTopic): Collector {
  const iterator = events.subscribe(topic)[Symbol.asyncIterator]();
  const items: ChargingSession[] = [];
  let waiters: { matches: (s: ChargingSession) => boolean; resolve: (s: ChargingSession) => void }[] = [];
  const loop = (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      items.push(next.value);
      const hit = waiters.filter((w) => w.matches(next.value));
      waiters = waiters.filter((w) => !hit.includes(w));
      for (const w of hit) w.resolve(next.value);
    }
  })();
  return {
    items,
    until(matches) {
      const seen = items.find(matches);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ matches, resolve }));
    },
    async stop() {
      await iterator.return?.();
      await loop;
    },
  };
}

// ---- metrics and limits that count

export function recordingMetrics() {
  const recorded = {
    remoteStart: [] as string[],
    reachedCharging: [] as number[],
    inbound: [] as [string, string, number | null][],
    anomalies: [] as string[],
  };
  const metrics: SessionMetrics = {
    remoteStart: (o) => void recorded.remoteStart.push(o),
    reachedCharging: (s) => void recorded.reachedCharging.push(s),
    inbound: (type, result, lag) => void recorded.inbound.push([type, result, lag]),
    anomaly: (kind) => void recorded.anomalies.push(kind),
  };
  return { metrics, recorded };
}

export class CountingLimits implements MutationLimits {
  readonly driverMutations: string[] = [];
  remoteStarts = 0;
  /** What driverMutation() and remoteStart() throw, if anything (e.g. a RATE_LIMITED error). */
  refuseDriverMutation: Error | null = null;
  refuseRemoteStart: Error | null = null;

  async driverMutation(driverId: string): Promise<void> {
    this.driverMutations.push(driverId);
    if (this.refuseDriverMutation) throw this.refuseDriverMutation;
  }

  async remoteStart(): Promise<void> {
    this.remoteStarts++;
    if (this.refuseRemoteStart) throw this.refuseRemoteStart;
  }
}

// ---- what Hubject sends us, from the example payloads

type NotificationType = "Start" | "Progress" | "End" | "Error";
const NOTIFICATION_EXAMPLES: Record<NotificationType, string> = {
  Start: "05-notification-start.request",
  Progress: "06-notification-progress.request",
  End: "07-notification-end.request",
  Error: "08-notification-error.request",
};

/** A message as the reader reads it, and as the listener hands it to the use cases (`delivery`). */
export type Message = ParsedInbound & { delivery: InboundDelivery };

function read(kind: "NOTIFICATION" | "CDR", body: Record<string, unknown>, receivedAt: Date): Message {
  const text = JSON.stringify(body);
  const result = oicpInboundReader.read(kind, text, receivedAt);
  if (!result.ok) throw new Error(`example does not parse: ${result.problem}`);
  return { ...result.value, delivery: { kind, text, operatorId: null, receivedAt, source: "push" } };
}

/** A charging notification of the example session, with fields replaced (null removes an optional one). */
export function notification(type: NotificationType, fields: Record<string, unknown> = {}, receivedAt: Date = later(60_000)) {
  return read("NOTIFICATION", { ...example(NOTIFICATION_EXAMPLES[type]), ...fields }, receivedAt);
}

/** The example session's CDR, with fields replaced. */
export function chargeDetailRecord(fields: Record<string, unknown> = {}, receivedAt: Date = later(3 * 3_600_000)) {
  return read("CDR", { ...example("14-charge-detail-record.request"), ...fields }, receivedAt);
}

/** Stored messages of a Hubject SessionID still waiting for their session, oldest first. */
export const waitingMessages = (store: SqlSessionStore, hubjectSessionId: string) => store.waitingInbound(hubjectSessionId);

/** The Identification block for a contract, as notifications carry it. */
export const remoteIdentification = (evcoId: string) => ({ RemoteIdentification: { EvcoID: evcoId } });

// ---- the use cases, wired like src/app/sessions.ts

export interface World {
  store: SqlSessionStore;
  events: RecordingEvents;
  hubject: ScriptedHubject;
  clock: ManualClock;
  limits: CountingLimits;
  recorded: ReturnType<typeof recordingMetrics>["recorded"];
  service: SessionService;
  close(): Promise<void>;
}

export async function openWorld(options: { mutationWaitMs?: number; matchWindowMs?: number } = {}): Promise<World> {
  const store = await openStore();
  const events = recordingEvents();
  const hubject = new ScriptedHubject();
  const clock = new ManualClock();
  const limits = new CountingLimits();
  const { metrics, recorded } = recordingMetrics();
  const service = new SessionService({
    store,
    hubject,
    events,
    reader: oicpInboundReader,
    logger: silentLogger,
    matchWindowMs: options.matchWindowMs ?? 15 * 60_000,
    // Long: a test that wants the mutation to answer first holds Hubject's answer back.
    mutationWaitMs: options.mutationWaitMs ?? 2_000,
    joinTimeoutMs: 10_000,
    limits,
    metrics,
    clock,
  });
  return {
    store,
    events,
    hubject,
    clock,
    limits,
    recorded,
    service,
    async close() {
      await service.drain();
      await events.close();
      await store.close();
    },
  };
}
