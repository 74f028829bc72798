// SessionEvents across replicas: Redis pub/sub through @graphql-yoga/redis-event-target, two
// ioredis connections (a connection in subscriber mode cannot publish).
//
// Channels: `${channelPrefix}session:updated:${sessionId}` and `${channelPrefix}driver:updated:${driverId}`.
// Message: JSON, see wire.ts. Ordering and de-duplication per subscription
// are shared with the in-process adapter (fan-out.ts).
//
// Redis is the fan-out, the store is the log. A change published while Redis is unreachable is
// held by ioredis for a short while (its offline queue) and then dropped, and messages sent while
// a subscriber connection is down never reach it (Redis does not keep them). Neither ever fails a
// write. After an outage each replica catches up from the store (catch-up.ts, given
// `changedSince`): its subscribers get every session that changed meanwhile, and what it could not
// publish is published again; the subscriptions' version check makes that once, in order. When
// even the store cannot be read, onDeliveryLost listeners close the sockets so clients resume.
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import type { PubSubEventTarget } from "@graphql-yoga/subscription";
import { Redis, type RedisOptions } from "ioredis";
import type { Logger } from "../logger.js";
import type { SessionEvents } from "../sessions/ports.js";
import type { ChargingSession } from "../sessions/session.js";
import { OutageCatchUp } from "./catch-up.js";
import { createSessionFanOut, guardListeners, type SessionEnvelope, type SessionFanOut, type SessionTopics } from "./fan-out.js";
import { deserializeSessionEnvelope, serializeSessionEnvelope } from "./wire.js";

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
  /**
   * Sessions changed since an instant (the store): after an outage, what this replica's
   * subscribers missed is handed to them, and what it could not publish is published again
   * (catch-up.ts). Without it, changes made during an outage wait for the session's next change.
   */
  changedSince?: (since: Date, limit: number) => Promise<ChargingSession[]>;
}

export function createRedisSessionEvents(options: RedisSessionEventsOptions): SessionEvents {
  const logger = options.logger;
  const channelPrefix = options.channelPrefix ?? "";
  const pingTimeoutMs = options.pingTimeoutMs ?? 2_000;
  const redis = redactRedisUrl(options.url);
  let closed = false;

  // Two outages, two catch-ups: while the subscribe connection is down this replica's subscribers
  // miss every change (handed to them locally afterwards); while the publish connection is down
  // (or a publish failed) everyone else misses this replica's changes (published again).
  let fanOutRef: SessionFanOut | undefined;
  const catchUp = (deliver: (session: ChargingSession) => void) =>
    options.changedSince ? new OutageCatchUp({ changedSince: options.changedSince, redeliver: deliver, logger }) : null;
  const missedHere = catchUp((session) => fanOutRef?.redeliver(session));
  const missedElsewhere = catchUp((session) => fanOutRef?.publish(session));

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
    watchConnection(client, role, redis, logger, () => closed, {
      down: () => (role === "subscribe" ? missedHere : missedElsewhere)?.noteOutage(),
      up: () => void caughtUp(),
    });
    return client;
  };
  const publishClient = connect("publish");
  const subscribeClient = connect("subscribe");

  /** Once both connections are up and the subscriptions are active again (a PING answers after the SUBSCRIBEs), catch up. */
  async function caughtUp(): Promise<void> {
    if (closed || publishClient.status !== "ready" || subscribeClient.status !== "ready") return;
    if (!missedHere?.degraded && !missedElsewhere?.degraded) return;
    try {
      await withTimeout(subscribeClient.ping(), pingTimeoutMs, "redis subscribe connection: no PONG");
    } catch {
      return; // down again: the next recovery tries
    }
    await Promise.all([missedHere?.recovered(), missedElsewhere?.recovered()]);
  }

  const eventTarget = createRedisEventTarget<CustomEvent>({
    publishClient: publishingWithoutRejections(publishClient, logger, () => {
      missedElsewhere?.noteOutage();
      void caughtUp(); // the connection may be back already: publish again at once
    }),
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
    eventTarget: guardListeners(eventTarget, logger),
    channelPrefix,
    logger,
    isClosed: () => closed,
  });
  fanOutRef = fanOut;

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
    onDeliveryLost(listener) {
      missedHere?.onLost(listener);
    },
    degraded: () => Boolean(missedHere?.degraded || missedElsewhere?.degraded),
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
export function watchConnection(
  client: Redis,
  role: string,
  redis: string,
  logger: Logger,
  closing: () => boolean,
  on: { down: () => void; up: () => void },
): void {
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
    on.down();
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
    on.up();
  });
}

/**
 * The event target calls publish() and subscribe() without handling their promises; while Redis
 * is down these reject after the retries, and an unhandled rejection would end the process.
 * These facades expose exactly what createRedisEventTarget uses (publish; on, subscribe,
 * unsubscribe), with the rejections logged.
 */
function publishingWithoutRejections(client: Redis, logger: Logger, failed: () => void): Redis {
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
          failed();
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
