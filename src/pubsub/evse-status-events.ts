// EvseStatusEvents (catalogue/ports.ts): every EVSE status change, on a topic per EVSE
// (`evse-status:<evseIdKey>`), so that a subscriber's cost follows the EVSEs it watches, never the
// whole catalogue. In-process over an EventTarget; across replicas over Redis pub/sub
// (@graphql-yoga/redis-event-target, channel `${channelPrefix}evse-status:<key>`, JSON messages).
// A subscriber keeps at most QUEUE_LIMIT undelivered changes: past that the oldest are dropped
// (a newer status of the same EVSE supersedes them anyway).
import { createRedisEventTarget } from "@graphql-yoga/redis-event-target";
import { Redis } from "ioredis";
import type { EvseStatusChange } from "../catalogue/catalogue.js";
import type { EvseStatusEvents } from "../catalogue/ports.js";
import type { Logger } from "../logger.js";
import { evseIdKey } from "../oicp/wire/identifiers.js";
import { OICP_EVSE_STATUSES, type OicpEvseStatus } from "../oicp/wire/types.js";

const QUEUE_LIMIT = 1_000;
const topic = (evseId: string) => `evse-status:${evseIdKey(evseId)}`;

interface Target {
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  dispatchEvent(event: Event): boolean;
}

export function createInProcessEvseStatusEvents(): EvseStatusEvents {
  return eventsOver(new EventTarget(), async () => undefined);
}

export function createRedisEvseStatusEvents(options: { url: string; channelPrefix?: string; logger: Logger }): EvseStatusEvents {
  const prefix = options.channelPrefix ?? "";
  const connect = (role: string) =>
    new Redis(options.url, { connectionName: `emp-gateway:evse-status:${role}`, maxRetriesPerRequest: 20, lazyConnect: false });
  const publishClient = connect("publish");
  const subscribeClient = connect("subscribe");
  for (const client of [publishClient, subscribeClient]) {
    client.on("error", (error: Error) => options.logger.warn({ problem: error.message }, "EVSE status events: redis connection problem"));
  }
  const target = createRedisEventTarget<CustomEvent>({
    publishClient,
    subscribeClient,
    serializer: {
      stringify: (detail) => JSON.stringify(detail),
      parse: (message) => readChange(message),
    },
  }) as unknown as Target;
  // Channels carry the deployment's prefix.
  const prefixed: Target = {
    addEventListener: (type, listener) => target.addEventListener(prefix + type, listener),
    removeEventListener: (type, listener) => target.removeEventListener(prefix + type, listener),
    dispatchEvent: (event) => target.dispatchEvent(new CustomEvent(prefix + event.type, { detail: (event as CustomEvent).detail })),
  };
  return eventsOver(prefixed, async () => {
    await Promise.allSettled([publishClient.quit(), subscribeClient.quit()]);
  });
}

/** A change as JSON from another replica, or null when unreadable (dropped). */
function readChange(message: string): EvseStatusChange | null {
  try {
    const value = JSON.parse(message) as { evseId?: unknown; status?: unknown; observedAt?: unknown };
    if (typeof value.evseId !== "string" || typeof value.observedAt !== "string") return null;
    const status = (OICP_EVSE_STATUSES as readonly unknown[]).includes(value.status) ? (value.status as OicpEvseStatus) : "Unknown";
    const observedAt = new Date(value.observedAt);
    return Number.isNaN(observedAt.getTime()) ? null : { evseId: value.evseId, status, observedAt };
  } catch {
    return null;
  }
}

function toChange(detail: unknown): EvseStatusChange | null {
  if (detail === null || typeof detail !== "object") return null;
  const d = detail as { evseId?: unknown; status?: unknown; observedAt?: unknown };
  if (typeof d.evseId !== "string") return null;
  const observedAt = d.observedAt instanceof Date ? d.observedAt : new Date(String(d.observedAt));
  return { evseId: d.evseId, status: d.status as OicpEvseStatus, observedAt };
}

function eventsOver(target: Target, close: () => Promise<void>): EvseStatusEvents {
  return {
    publish(changes) {
      for (const change of changes) {
        // JSON-ready for Redis: the date as ISO text.
        target.dispatchEvent(new CustomEvent(topic(change.evseId), { detail: { ...change, observedAt: change.observedAt.toISOString() } }));
      }
    },
    subscribe(evseIds) {
      const types = [...new Set(evseIds.map(topic))];
      const queue: EvseStatusChange[] = [];
      let wake: (() => void) | null = null;
      let ended = false;
      const listener = (event: Event) => {
        const change = toChange((event as CustomEvent).detail);
        if (!change || ended) return;
        queue.push(change);
        if (queue.length > QUEUE_LIMIT) queue.shift();
        wake?.();
      };
      for (const type of types) target.addEventListener(type, listener);
      const end = () => {
        if (ended) return;
        ended = true;
        for (const type of types) target.removeEventListener(type, listener);
        wake?.();
      };
      const done: IteratorReturnResult<undefined> = { done: true, value: undefined };
      const iterator: AsyncIterableIterator<EvseStatusChange> = {
        async next() {
          while (!ended && queue.length === 0) await new Promise<void>((resolve) => (wake = resolve));
          wake = null;
          const value = queue.shift();
          return value ? { done: false, value } : done;
        },
        async return() {
          end();
          return done;
        },
        async throw(error?: unknown) {
          end();
          throw error;
        },
        [Symbol.asyncIterator]() {
          return this;
        },
      };
      return iterator;
    },
    close,
  };
}
