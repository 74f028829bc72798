// Step: the EVSE catalogue's status changes (evseStatusChanged): over Redis when REDIS_URL is set
// (every replica's subscribers hear the leader's pulls), in-process otherwise; and the hook that
// records the statuses read by id (src/evse-status) in the catalogue and publishes what changed.
import type { CatalogueStore, EvseStatusEvents } from "../catalogue/ports.js";
import type { Config } from "../config/config.js";
import type { Logger } from "../logger.js";
import type { OicpEvseStatus } from "../oicp/wire/types.js";
import { createInProcessEvseStatusEvents, createRedisEvseStatusEvents } from "../pubsub/evse-status-events.js";
import type { Closers } from "./lifecycle.js";

export interface CatalogueStep {
  events: EvseStatusEvents;
  /** For the EVSE status reader: statuses Hubject just gave by id. Never throws. */
  observed(statuses: ReadonlyArray<{ evseId: string; status: OicpEvseStatus }>, at: Date): void;
}

export function createCatalogue(config: Config, deps: { catalogue: CatalogueStore; logger: Logger; closers: Closers }): CatalogueStep {
  const logger = deps.logger.child({ component: "catalogue" });
  const events = config.redis
    ? createRedisEvseStatusEvents({ url: config.redis.url, channelPrefix: config.redis.channelPrefix, logger })
    : createInProcessEvseStatusEvents();
  deps.closers.push(() => events.close());
  return {
    events,
    observed(statuses, at) {
      deps.catalogue
        .applyStatuses(statuses, at)
        .then((changes) => changes.length > 0 && events.publish(changes))
        .catch((error: unknown) => logger.warn({ err: error }, "statuses read by id not recorded in the catalogue"));
    },
  };
}
