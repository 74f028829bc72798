// SessionEvents in one process: the fan-out of fan-out.ts over an EventTarget; objects are
// passed as they are.
import { createPubSub, type PubSubEventTarget } from "@graphql-yoga/subscription";
import { logger as defaultLogger, type Logger } from "../logger.js";
import type { SessionEvents } from "../sessions/ports.js";
import { createSessionFanOut, guardListeners, type SessionTopics } from "./fan-out.js";

export function createInProcessSessionEvents(options: { logger?: Logger } = {}): SessionEvents {
  const logger = options.logger ?? defaultLogger.child({ component: "session-events" });
  const fanOut = createSessionFanOut({
    pubSub: createPubSub<SessionTopics>({ eventTarget: guardListeners(new EventTarget() as PubSubEventTarget<SessionTopics>, logger) }),
    channelPrefix: "",
    logger,
  });
  return {
    publish: fanOut.publish,
    subscribe: fanOut.subscribe,
    ping: async () => undefined,
    close: async () => undefined,
  };
}
