// Step: the identifications registry (src/identifications) on the store, with its change
// messages across replicas (Redis when REDIS_URL is set, in-process otherwise).
import type { Config } from "../config/config.js";
import type { RegistryChanges } from "../identifications/ports.js";
import { IdentificationRegistry } from "../identifications/registry.js";
import type { Logger } from "../logger.js";
import { createInProcessRegistryChanges, createRedisRegistryChanges } from "../pubsub/registry-changes.js";
import { SYSTEM_CLOCK } from "../sessions/ports.js";
import type { SqlSessionStore } from "../store/sql/sql.store.js";
import type { Closers } from "./lifecycle.js";

export function createIdentifications(
  config: Config,
  deps: { store: SqlSessionStore; logger: Logger; closers: Closers },
): IdentificationRegistry {
  const logger = deps.logger.child({ component: "identifications" });
  const changes: RegistryChanges = config.redis
    ? createRedisRegistryChanges({ url: config.redis.url, channelPrefix: config.redis.channelPrefix, logger })
    : createInProcessRegistryChanges();
  deps.closers.push(() => changes.close());
  const registry = new IdentificationRegistry({
    store: deps.store.identifications,
    changes,
    clock: SYSTEM_CLOCK,
    logger,
    pinHashCost: config.identifications.pinHashCost,
    cache: { maxEntries: config.identifications.cacheSize, ttlMs: config.identifications.cacheMs },
  });
  deps.closers.push(() => registry.close());
  return registry;
}
