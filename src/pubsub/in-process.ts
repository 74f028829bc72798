// SessionEvents in one process: the fan-out of fan-out.ts over an EventTarget; objects are
// passed as they are.
import type { PubSubEventTarget } from "@graphql-yoga/subscription";
import { logger as defaultLogger, type Logger } from "../logger.js";
import type { SessionEvents } from "../sessions/ports.js";
import { createSessionFanOut, guardListeners, type SessionTopics } from "./fan-out.js";

export function createInProcessSessionEvents(options: { logger?: Logger; deliverySlice?: number } = {}): SessionEvents {
  const logger = options.logger ?? defaultLogger.child({ component: "session-events" });
  const fanOut = createSessionFanOut({
    eventTarget: guardListeners(new EventTarget() as PubSubEventTarget<SessionTopics>, logger),
    channelPrefix: "",
    logger,
    ...(options.deliverySlice !== undefined ? { deliverySlice: options.deliverySlice } : {}),
  });
  return {
    publish: fanOut.publish,
    subscribe: fanOut.subscribe,
    ping: async () => undefined,
    close: async () => undefined,
  };
}
