// RegistryChanges (identifications/ports.ts): tells every replica which identifications changed,
// so that each drops what it cached. In-process for one replica; Redis pub/sub across replicas,
// on one channel `${channelPrefix}identifications:changed` with a JSON list of credential keys.
//
// Redis keeps nothing for a subscriber that is away: while the subscribe connection is down this
// replica is "degraded" and its readers bypass their caches; when it is back, everything is
// dropped once (whatever changed meanwhile is read again).
import { Redis, type RedisOptions } from "ioredis";
import type { RegistryChanges } from "../identifications/ports.js";
import type { Logger } from "../logger.js";
import { redactRedisUrl, watchConnection } from "./redis.js";

type Listener = (keys: readonly string[] | null) => void;

export function createInProcessRegistryChanges(): RegistryChanges {
  const listeners = new Set<Listener>();
  return {
    publish(keys) {
      for (const listener of listeners) listener(keys);
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    degraded: () => false,
    close: async () => listeners.clear(),
  };
}

export function createRedisRegistryChanges(options: {
  url: string;
  channelPrefix?: string;
  logger: Logger;
  redisOptions?: RedisOptions;
}): RegistryChanges {
  const channel = `${options.channelPrefix ?? ""}identifications:changed`;
  const redis = redactRedisUrl(options.url);
  const logger = options.logger;
  const listeners = new Set<Listener>();
  let closed = false;
  let subscribed = false;
  const notify = (keys: readonly string[] | null) => {
    for (const listener of listeners) listener(keys);
  };

  const connect = (role: string, on: { down: () => void; up: () => void }) => {
    const client = new Redis(options.url, {
      connectionName: `emp-gateway:identifications:${role}`,
      retryStrategy: (times) => Math.min(times * 50, 2_000),
      maxRetriesPerRequest: 20,
      autoResubscribe: true,
      ...options.redisOptions,
    });
    watchConnection(client, `identifications-${role}`, redis, logger, () => closed, on);
    return client;
  };
  const publisher = connect("publish", { down: () => undefined, up: () => undefined });
  const subscriber = connect("subscribe", {
    down: () => {
      subscribed = false;
    },
    up: () => {
      // ioredis re-subscribes on reconnect; the SUBSCRIBE answer below marks the cache usable again.
    },
  });
  subscriber.on("subscribe", () => {
    if (!subscribed) {
      subscribed = true;
      notify(null);
    }
  });
  subscriber.on("message", (from: string, message: string) => {
    if (from !== channel) return;
    try {
      const keys: unknown = JSON.parse(message);
      if (Array.isArray(keys) && keys.every((k) => typeof k === "string")) notify(keys);
      else notify(null);
    } catch {
      logger.warn({ channel }, "unreadable identification change message: dropping every cached identification");
      notify(null);
    }
  });
  subscriber
    .subscribe(channel)
    .catch((error: Error) => logger.warn({ redis, problem: error.message }, "identification changes: subscribe failed"));

  return {
    publish(keys) {
      if (keys.length === 0) return;
      // Every replica, this one too, hears it; the writer already dropped its own keys.
      publisher.publish(channel, JSON.stringify(keys)).catch((error: Error) => {
        logger.warn(
          { redis, problem: error.message },
          "identification change not published: other replicas keep their cache until it expires",
        );
      });
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    degraded: () => !subscribed,
    async close() {
      closed = true;
      listeners.clear();
      await Promise.allSettled([subscriber.quit(), publisher.quit()]);
    },
  };
}
