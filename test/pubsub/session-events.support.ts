// Helpers for the SessionEvents tests: sessions, collectors, a capturing logger, "replicas".
import { randomUUID } from "node:crypto";
import { createServer } from "node:net";
import type { Redis } from "ioredis";
import { pino } from "pino";
import type { Logger } from "../../src/logger.js";
import { createInProcessSessionEvents } from "../../src/pubsub/in-process.js";
import { createRedisSessionEvents, type RedisSessionEventsOptions } from "../../src/pubsub/redis.js";
import type { SessionEvents } from "../../src/sessions/ports.js";
import type { ChargeDetailRecord, ChargingSession } from "../../src/sessions/session.js";
import { REDIS_URL } from "../support/redis.js";

export { REDIS_URL };

// --- sessions

const T0 = new Date("2024-05-01T10:00:00.000Z");
const at = (minutes: number, ms = 0): Date => new Date(T0.getTime() + minutes * 60_000 + ms);

export function cdr(): ChargeDetailRecord {
  return {
    hubjectSessionId: "b2688855-7f00-0002-6d8e-48d883f6abb6",
    evseId: "DE*ABC*E1234*1",
    evcoId: "DE-8EO-CAET5E4XY-3",
    partnerProductId: "AC_FAST",
    sessionStart: at(1, 123),
    sessionEnd: at(95, 456),
    chargingStart: at(2, 7),
    chargingEnd: at(90, 999),
    consumedEnergyKwh: "21.354",
    meterValueStart: "1000.000",
    meterValueEnd: "1021.354",
    offsets: { sessionStart: "+02:00", chargingEnd: "+02:00" },
    anomalies: [{ field: "ChargingEnd", kind: "REPAIRED", detail: "read from a string" }],
    receivedAt: at(96, 1),
    raw: { SessionStart: "2024-05-01T12:01:00.123+02:00", ConsumedEnergy: 21.354, nested: { list: [1, "two", null] } },
  };
}

/** A session with every Date field set (and a CDR), at `version`. */
export function fullSession(version: number, overrides: Partial<ChargingSession> = {}): ChargingSession {
  return {
    id: randomUUID(),
    driverId: "driver-1",
    origin: "APP",
    hubjectSessionId: "b2688855-7f00-0002-6d8e-48d883f6abb6",
    cpoPartnerSessionId: "cpo-42",
    evseId: "DE*ABC*E1234*1",
    evcoId: "DE-8EO-CAET5E4XY-3",
    partnerProductId: "AC_FAST",
    status: "COMPLETED",
    lastStatusCode: { code: "000", description: "Success", additionalInfo: null },
    requestedAt: at(0),
    chargingStartedAt: at(2, 7),
    chargingEndedAt: at(90, 999),
    sessionStartedAt: at(1, 123),
    sessionEndedAt: at(95, 456),
    stopRequestedAt: at(89),
    updatedAt: at(96, 1),
    consumedEnergyKwh: "21.354",
    lastProgressAt: at(85, 250),
    lastEventAt: at(96),
    figuresSource: "CHARGE_DETAIL_RECORD",
    errorType: null,
    errorInfo: null,
    chargeDetailRecord: cdr(),
    offsets: { chargingStart: "+02:00", sessionEnd: null },
    anomalies: [{ field: "EventOccurred", kind: "IMPLAUSIBLE", detail: "9999-12-31T22:59:59.000Z is in the future; left out" }],
    identificationId: "3f6f1c2a-9d7e-4b1a-8c55-0e4d2a9b7c61",
    stopIdentificationId: "3f6f1c2a-9d7e-4b1a-8c55-0e4d2a9b7c61",
    version,
    ...overrides,
  };
}

/** A fresh session with every nullable field null. */
export function bareSession(version: number, overrides: Partial<ChargingSession> = {}): ChargingSession {
  return {
    ...fullSession(version),
    origin: "CHARGER",
    hubjectSessionId: null,
    cpoPartnerSessionId: null,
    partnerProductId: null,
    status: "REQUESTED",
    lastStatusCode: null,
    chargingStartedAt: null,
    chargingEndedAt: null,
    sessionStartedAt: null,
    sessionEndedAt: null,
    stopRequestedAt: null,
    consumedEnergyKwh: null,
    lastProgressAt: null,
    lastEventAt: null,
    figuresSource: null,
    chargeDetailRecord: null,
    offsets: {},
    anomalies: [],
    identificationId: null,
    stopIdentificationId: null,
    ...overrides,
  };
}

/** The session at another version, with the time it was stored moved on. */
export const atVersion = (session: ChargingSession, version: number): ChargingSession => ({
  ...session,
  version,
  updatedAt: new Date(session.updatedAt.getTime() + version * 1_000),
});

// --- subscribers

export interface Collector {
  events: ChargingSession[];
  versions(): number[];
  /** Ends the subscription; resolves when its loop has finished. */
  stop(): Promise<void>;
  /** Resolves when the loop ended by itself (the subscription completed). */
  ended: Promise<void>;
}

/** Starts consuming at once (the subscription registers on its first next()). */
export function collect(iterable: AsyncIterable<ChargingSession>): Collector {
  const events: ChargingSession[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  const ended = (async () => {
    for (;;) {
      const result = await iterator.next();
      if (result.done) return;
      events.push(result.value);
    }
  })();
  return {
    events,
    versions: () => events.map((session) => session.version),
    async stop() {
      await iterator.return?.();
      await ended;
    },
    ended,
  };
}

// --- logs

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}
export const WARN = 40;
export const INFO = 30;

export function captureLogger(): { logger: Logger; lines: LogLine[]; text: () => string } {
  const lines: LogLine[] = [];
  const raw: string[] = [];
  const logger = pino(
    { level: "debug" },
    {
      write: (line: string) => {
        raw.push(line);
        lines.push(JSON.parse(line) as LogLine);
      },
    },
  );
  return { logger, lines, text: () => raw.join("") };
}

// --- replicas

export interface Deployment {
  /** `n` replicas of the gateway: for Redis, n adapters on one Redis and one channel prefix. */
  replicas(n: number): SessionEvents[];
}

export interface AdapterKind {
  name: string;
  deployment(track: (events: SessionEvents) => void): Deployment;
}

export const uniquePrefix = (): string => `test-${randomUUID()}:`;

export const ADAPTERS: AdapterKind[] = [
  {
    name: "in-process",
    // One process: every "replica" is the same adapter.
    deployment: (track) => ({
      replicas(n) {
        const events = createInProcessSessionEvents({ logger: pino({ level: "silent" }) });
        track(events);
        return Array.from({ length: n }, () => events);
      },
    }),
  },
  {
    name: "redis",
    deployment: (track) => {
      const channelPrefix = uniquePrefix();
      return {
        replicas(n) {
          return Array.from({ length: n }, () => {
            const events = redisEvents({ channelPrefix });
            track(events);
            return events;
          });
        },
      };
    },
  },
];

export function redisEvents(options: Partial<RedisSessionEventsOptions> = {}): SessionEvents {
  return createRedisSessionEvents({ url: REDIS_URL, logger: pino({ level: "silent" }), channelPrefix: uniquePrefix(), ...options });
}

/** Waits until every replica's subscriptions are registered (Redis: SUBSCRIBE went before this PING). */
export async function settled(replicas: SessionEvents[]): Promise<void> {
  await Promise.all([...new Set(replicas)].map((replica) => replica.ping()));
}

/** A TCP port where nothing listens. */
export async function deadPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (!address || typeof address === "string") throw new Error("no port");
  return address.port;
}

/** Kills, on the server side, every client connection called `name` (a Redis restart, seen from one replica). */
export async function killConnections(admin: Redis, name: string): Promise<number> {
  const list = (await admin.client("LIST")) as string;
  const ids = list
    .split("\n")
    .filter((line) => line.includes(` name=${name} `))
    .map((line) => /(?:^|\s)id=(\d+)/.exec(line)?.[1])
    .filter((id): id is string => id !== undefined);
  for (const id of ids) await admin.client("KILL", "ID", id);
  return ids.length;
}
