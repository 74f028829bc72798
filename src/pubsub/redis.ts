// SessionEvents across replicas: Redis pub/sub through @graphql-yoga/redis-event-target, two
// ioredis connections (a connection in subscriber mode cannot publish).
//
// Channels: `${channelPrefix}session:updated:${sessionId}` and `${channelPrefix}driver:updated:${driverId}`.
// Message: JSON, see serializeSessionEnvelope below. Ordering and de-duplication per subscription
// are shared with the in-process adapter (session.events.ts).
//
// Delivery is at most once: a change published while Redis is unreachable is held by ioredis
// for a short while (its offline queue, up to maxRetriesPerRequest reconnection attempts) and
// then dropped with a log line; messages sent while a subscriber connection is down are lost
// (Redis does not keep them). Neither ever fails a write: the store is the truth, clients re-read
// it (a query, or the next change, which carries the whole session).
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { createPubSub, type PubSubEventTarget } from "@graphql-yoga/subscription";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../logger.js";
import { spanContextFromTraceHeaders, traceHeadersOf } from "../observability/tracing-context.js";
import { type ChargingSession, type FiguresSource, SESSION_STATUSES, type SessionOrigin, type StatusCode } from "../sessions/session.js";
import {
  cdrFromWire,
  cdrToWire,
  date,
  dateOrNull,
  iso,
  isoOrNull,
  record,
  str,
  strOrNull,
  WireError,
  type WireValue,
} from "../sessions/session.json.js";
import { createSessionFanOut, guardListeners, type SessionEnvelope, type SessionEvents, type SessionTopics } from "./in-process.js";

export interface RedisSessionEventsOptions {
  /** redis:// or rediss:// URL; may carry a password (never logged). */
  url: string;
  /** Prepended to every channel, e.g. "emp-prod:", so that deployments (and tests) can share one Redis. */
  channelPrefix?: string;
  logger: Logger;
  /** How long ping() waits for both PONGs. */
  pingTimeoutMs?: number;
  /** Passed to both ioredis connections, after the gateway's defaults (tests, tuning). */
  redisOptions?: RedisOptions;
}

export function createRedisSessionEvents(options: RedisSessionEventsOptions): SessionEvents {
  const logger = options.logger;
  const channelPrefix = options.channelPrefix ?? "";
  const pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
  const redis = redactRedisUrl(options.url);
  let closed = false;

  const connect = (role: "publish" | "subscribe"): Redis => {
    const client = new Redis(options.url, {
      connectionName: `emp-gateway:session-events:${role}`,
      // Defaults, spelled out: reconnect for ever (backing off to 2 s), hold commands while
      // disconnected, give up on one after 20 reconnection attempts (about 10 s).
      retryStrategy: (times) => Math.min(times * 50, 2_000),
      enableOfflineQueue: true,
      maxRetriesPerRequest: 20,
      autoResubscribe: true,
      ...options.redisOptions,
    });
    watchConnection(client, role, redis, logger, () => closed);
    return client;
  };
  const publishClient = connect("publish");
  const subscribeClient = connect("subscribe");

  const eventTarget = createRedisEventTarget<CustomEvent>({
    publishClient: publishingWithoutRejections(publishClient, logger),
    subscribeClient: subscribingWithoutRejections(subscribeClient, logger),
    serializer: {
      stringify: (envelope) => serializeSessionEnvelope(envelope as SessionEnvelope),
      parse: (message) => {
        const read = deserializeSessionEnvelope(message);
        if ("error" in read) {
          logger.warn({ reason: read.error }, "unreadable session event from redis: dropped");
          return null;
        }
        return read.envelope;
      },
    },
  }) as unknown as PubSubEventTarget<SessionTopics>;

  const fanOut = createSessionFanOut({
    pubSub: createPubSub<SessionTopics>({ eventTarget: guardListeners(eventTarget, logger) }),
    channelPrefix,
    logger,
    isClosed: () => closed,
  });

  let closing: Promise<void> | undefined;
  return {
    publish: fanOut.publish,
    subscribe: fanOut.subscribe,
    async ping() {
      if (closed) throw new Error("session events are closed");
      await Promise.all([
        withTimeout(publishClient.ping(), pingTimeoutMs, "redis publish connection: no PONG"),
        withTimeout(subscribeClient.ping(), pingTimeoutMs, "redis subscribe connection: no PONG"),
      ]);
    },
    close() {
      closing ??= (async () => {
        closed = true;
        await fanOut.endSubscriptions(); // unsubscribes before the connection goes
        await Promise.all([quit(publishClient), quit(subscribeClient)]);
        logger.info({ redis }, "session events: redis connections closed");
      })();
      return closing;
    },
  };
}

/** The URL without its password (and with the user name kept), for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "[unparseable redis url]";
  }
}

// ---------------------------------------------------------------------------------------------
// Connections

/** Logs loss (warn, once per outage) and recovery (info). Error texts from ioredis carry host and port, no credentials. */
function watchConnection(client: Redis, role: string, redis: string, logger: Logger, closing: () => boolean): void {
  let state: "starting" | "up" | "down" = "starting";
  let downSince = 0;
  let lastError: string | undefined;
  const down = (reason: string | undefined) => {
    if (closing()) return;
    if (state === "down") {
      logger.debug({ redis, connection: role, reason }, "redis still unreachable");
      return;
    }
    const first = state === "starting";
    state = "down";
    downSince = Date.now();
    logger.warn(
      { redis, connection: role, reason },
      first ? "redis unreachable: session events wait for it (reconnecting)" : "redis connection lost: reconnecting",
    );
  };
  client.on("error", (error: Error) => {
    lastError = error.message;
    down(error.message);
  });
  client.on("close", () => {
    if (state === "up") down(lastError ?? "connection closed");
  });
  client.on("ready", () => {
    if (state === "down") logger.info({ redis, connection: role, downForMs: Date.now() - downSince }, "redis connection recovered");
    else logger.info({ redis, connection: role }, "redis connected");
    state = "up";
    lastError = undefined;
  });
}

/**
 * The event target calls publish() and subscribe() without handling their promises; while Redis
 * is down these reject after the retries, and an unhandled rejection would end the process.
 * These facades expose exactly what createRedisEventTarget uses (publish; on, subscribe,
 * unsubscribe), with the rejections logged.
 */
function publishingWithoutRejections(client: Redis, logger: Logger): Redis {
  let failing = false;
  let lost = 0;
  const facade = {
    publish(channel: string, message: string): Promise<number> {
      return client.publish(channel, message).then(
        (receivers) => {
          if (failing) logger.info({ lost }, "publishing session events to redis works again");
          failing = false;
          lost = 0;
          return receivers;
        },
        (error: Error) => {
          lost++;
          if (!failing) logger.warn({ reason: error.message }, "a session event could not be published to redis: subscribers miss it");
          else logger.debug({ reason: error.message, lost }, "a session event could not be published to redis");
          failing = true;
          return 0;
        },
      );
    },
  };
  return facade as unknown as Redis;
}

function subscribingWithoutRejections(client: Redis, logger: Logger): Redis {
  const facade = {
    on(event: "message", listener: (channel: string, message: string) => void) {
      client.on(event, listener);
      return facade;
    },
    subscribe(channel: string): Promise<unknown> {
      return client.subscribe(channel).catch((error: Error) => {
        // ioredis resubscribes on reconnection only to channels it had subscribed.
        logger.warn({ reason: error.message }, "subscribing to session events in redis failed: this subscription gets nothing");
      });
    },
    unsubscribe(channel: string): Promise<unknown> {
      return client.unsubscribe(channel).catch((error: Error) => {
        logger.debug({ reason: error.message }, "unsubscribing from session events in redis failed");
      });
    },
  };
  return facade as unknown as Redis;
}

async function quit(client: Redis): Promise<void> {
  if (client.status === "end") return;
  try {
    // QUIT waits for pending replies; while Redis is down it would wait for a reconnection.
    await withTimeout(client.quit(), 1_000, "redis QUIT timed out");
  } catch {
    client.disconnect();
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(message)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

// ---------------------------------------------------------------------------------------------
// Wire format (used by the Redis adapter only; the in-process adapter passes objects)
//
//   {"format":1,"reannounce":false,"session":{...}}
//   {"format":1,"reannounce":false,"session":{...},"traceparent":"00-<trace-id>-<span-id>-01"}
//
// `traceparent` (and `tracestate`, when the trace has one) are W3C Trace Context values naming
// the span that published the change; they are only written with tracing on. Both are optional
// and additive: a reader that does not know them ignores them, one that finds them missing or
// malformed delivers the change without a trace. So `format` stays 1.
//
// `session` is a ChargingSession with every Date as an ISO-8601 UTC string with milliseconds
// ("2024-05-01T10:00:00.000Z"), in the session and in its chargeDetailRecord; everything else
// as it is (kWh stay decimal strings, chargeDetailRecord.raw is the CPO's JSON). A reader
// rebuilds the session field by field and drops (logs) a message it cannot read; a change of
// the format increments `format`.

export const SESSION_WIRE_FORMAT = 1;

export type WireSession = { [K in keyof ChargingSession]: WireValue<ChargingSession[K]> };
export interface WireEnvelope {
  format: typeof SESSION_WIRE_FORMAT;
  reannounce: boolean;
  session: WireSession;
  /** W3C traceparent of the span that published the change (tracing on). */
  traceparent?: string;
  tracestate?: string;
}

export function serializeSessionEnvelope(envelope: SessionEnvelope): string {
  const wire: WireEnvelope = { format: SESSION_WIRE_FORMAT, reannounce: envelope.reannounce, session: sessionToWire(envelope.session) };
  const trace = envelope.origin ? traceHeadersOf(envelope.origin) : undefined;
  if (trace) Object.assign(wire, trace);
  return JSON.stringify(wire);
}

export function deserializeSessionEnvelope(message: string): { envelope: SessionEnvelope } | { error: string } {
  try {
    const wire = record(JSON.parse(message), "message");
    if (wire.format !== SESSION_WIRE_FORMAT) return { error: `unknown format ${JSON.stringify(wire.format)}` };
    if (typeof wire.reannounce !== "boolean") return { error: "reannounce: not a boolean" };
    const envelope: SessionEnvelope = { reannounce: wire.reannounce, session: sessionFromWire(record(wire.session, "session")) };
    // Tracing never costs a change: a missing or malformed traceparent only loses the link.
    if (typeof wire.traceparent === "string") {
      const origin = spanContextFromTraceHeaders(wire.traceparent, typeof wire.tracestate === "string" ? wire.tracestate : undefined);
      if (origin) envelope.origin = origin;
    }
    return { envelope };
  } catch (error) {
    return { error: error instanceof WireError || error instanceof SyntaxError ? error.message : "unreadable" };
  }
}

function sessionToWire(s: ChargingSession): WireSession {
  return {
    id: s.id,
    driverId: s.driverId,
    origin: s.origin,
    hubjectSessionId: s.hubjectSessionId,
    cpoPartnerSessionId: s.cpoPartnerSessionId,
    evseId: s.evseId,
    evcoId: s.evcoId,
    partnerProductId: s.partnerProductId,
    status: s.status,
    lastStatusCode: s.lastStatusCode && {
      code: s.lastStatusCode.code,
      description: s.lastStatusCode.description,
      additionalInfo: s.lastStatusCode.additionalInfo,
    },
    requestedAt: iso(s.requestedAt),
    chargingStartedAt: isoOrNull(s.chargingStartedAt),
    chargingEndedAt: isoOrNull(s.chargingEndedAt),
    sessionStartedAt: isoOrNull(s.sessionStartedAt),
    sessionEndedAt: isoOrNull(s.sessionEndedAt),
    stopRequestedAt: isoOrNull(s.stopRequestedAt),
    updatedAt: iso(s.updatedAt),
    consumedEnergyKwh: s.consumedEnergyKwh,
    lastProgressAt: isoOrNull(s.lastProgressAt),
    lastEventAt: isoOrNull(s.lastEventAt),
    figuresSource: s.figuresSource,
    errorType: s.errorType,
    errorInfo: s.errorInfo,
    chargeDetailRecord: s.chargeDetailRecord && cdrToWire(s.chargeDetailRecord),
    version: s.version,
  };
}

function sessionFromWire(w: Record<string, unknown>): ChargingSession {
  return {
    id: str(w, "id"),
    driverId: str(w, "driverId"),
    origin: oneOf(w, "origin", ORIGINS),
    hubjectSessionId: strOrNull(w, "hubjectSessionId"),
    cpoPartnerSessionId: strOrNull(w, "cpoPartnerSessionId"),
    evseId: str(w, "evseId"),
    evcoId: str(w, "evcoId"),
    partnerProductId: strOrNull(w, "partnerProductId"),
    status: oneOf(w, "status", SESSION_STATUSES),
    lastStatusCode: w.lastStatusCode === null ? null : statusCodeFromWire(record(w.lastStatusCode, "lastStatusCode")),
    requestedAt: date(w, "requestedAt"),
    chargingStartedAt: dateOrNull(w, "chargingStartedAt"),
    chargingEndedAt: dateOrNull(w, "chargingEndedAt"),
    sessionStartedAt: dateOrNull(w, "sessionStartedAt"),
    sessionEndedAt: dateOrNull(w, "sessionEndedAt"),
    stopRequestedAt: dateOrNull(w, "stopRequestedAt"),
    updatedAt: date(w, "updatedAt"),
    consumedEnergyKwh: strOrNull(w, "consumedEnergyKwh"),
    lastProgressAt: dateOrNull(w, "lastProgressAt"),
    lastEventAt: dateOrNull(w, "lastEventAt"),
    figuresSource: w.figuresSource === null ? null : oneOf(w, "figuresSource", FIGURES_SOURCES),
    errorType: strOrNull(w, "errorType"),
    errorInfo: strOrNull(w, "errorInfo"),
    chargeDetailRecord: w.chargeDetailRecord === null ? null : cdrFromWire(record(w.chargeDetailRecord, "chargeDetailRecord")),
    version: version(w, "version"),
  };
}

function statusCodeFromWire(w: Record<string, unknown>): StatusCode {
  return {
    code: str(w, "code", "lastStatusCode."),
    description: strOrNull(w, "description", "lastStatusCode."),
    additionalInfo: strOrNull(w, "additionalInfo", "lastStatusCode."),
  };
}

// Every value of the unions, checked by the compiler in both directions.
const ORIGINS = ["APP", "CHARGER"] as const satisfies readonly SessionOrigin[];
const FIGURES_SOURCES = ["NOTIFICATION", "CHARGE_DETAIL_RECORD", "EVSE_STATUS", "INFERRED"] as const satisfies readonly FiguresSource[];
type Covers<Union, Listed> = [Exclude<Union, Listed>] extends [never] ? true : false;
const coversAll: [Covers<SessionOrigin, (typeof ORIGINS)[number]>, Covers<FiguresSource, (typeof FIGURES_SOURCES)[number]>] = [true, true];
void coversAll;

function version(w: Record<string, unknown>, field: string): number {
  const value = w[field];
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) throw new WireError(`${field}: not a version`);
  return value;
}
function oneOf<T extends string>(w: Record<string, unknown>, field: string, values: readonly T[]): T {
  const value = str(w, field);
  if (!(values as readonly string[]).includes(value)) throw new WireError(`${field}: unknown value`);
  return value as T;
}
