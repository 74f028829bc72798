// Fan-out of session changes. Routed topics, one per session and one per driver, so that the
// cost of a change follows its recipients, not the number of subscribers (STYLE.md).
// In-process today; a Redis-backed event target plugs in here for several replicas.
import { createPubSub } from "@graphql-yoga/subscription";
import type { ChargingSession } from "./session.js";

export interface SessionEvents {
  publish(session: ChargingSession): void;
  subscribe(topic: { sessionId: string } | { driverId: string }): AsyncIterable<ChargingSession>;
}

export function createInProcessSessionEvents(): SessionEvents {
  const pubSub = createPubSub<{
    "session:updated": [sessionId: string, session: ChargingSession];
    "driver:updated": [driverId: string, session: ChargingSession];
  }>();
  return {
    publish(session) {
      pubSub.publish("session:updated", session.id, session);
      pubSub.publish("driver:updated", session.driverId, session);
    },
    subscribe(topic) {
      return "sessionId" in topic
        ? pubSub.subscribe("session:updated", topic.sessionId)
        : pubSub.subscribe("driver:updated", topic.driverId);
    },
  };
}
