// Fan-out of session changes (the SessionEvents port of sessions/ports.ts). Routed topics, one per session and one per driver, so that the
// cost of a change follows its recipients, not the number of subscribers (STYLE.md).
//
// Two adapters share everything but the event target:
// - createInProcessSessionEvents (in-process.ts): one process; objects are passed as they are.
// - createRedisSessionEvents (redis.ts): several replicas behind one load balancer;
//   a change published on any replica reaches every subscriber on every replica.
//
// Once and in order, per session and per subscription: every subscription remembers the last
// version it delivered for each session and drops an event whose version is not greater (a
// duplicate, or an older version overtaken by a newer one: two replicas publishing versions 5
// and 6 of a session can reach a subscriber as 6, 5). Each event is the whole session, so a
// skipped intermediate version loses nothing: the client always ends with the latest state.
// Only an explicit re-announcement (publish(session, { reannounce: true }), e.g. a session that
// just turned stale, unchanged in the store) may repeat the version last delivered.
//
// Tracing: publish() captures the active span (the GraphQL request, the inbound OICP message, …)
// in the envelope, and every delivered session is remembered with it (observability/
// tracing-context.ts), so that the subscription's "push sessionUpdated" span becomes its child.
// With tracing off there is no active span and nothing is captured.
import type { PubSub, PubSubEventTarget } from "@graphql-yoga/subscription";
import type { SpanContext } from "@opentelemetry/api";
import type { Logger } from "../logger.js";
import { activeSpanContext, rememberOrigin } from "../observability/tracing-context.js";
import type { PublishOptions, SessionTopic } from "../sessions/ports.js";
import type { ChargingSession } from "../sessions/session.js";

/** What travels through the pub/sub: the whole session, and whether it is a re-announcement. */
export interface SessionEnvelope {
  session: ChargingSession;
  reannounce: boolean;
  /** The span that published the change (tracing on, inside a span); Redis carries it as `traceparent`. */
  origin?: SpanContext;
}

/** Routing keys are `${channelPrefix}session:updated` and `${channelPrefix}driver:updated`. */
export type SessionTopics = Record<string, [id: string, envelope: SessionEnvelope]>;

export interface SessionFanOut {
  publish(session: ChargingSession, options?: PublishOptions): void;
  subscribe(topic: SessionTopic): AsyncIterableIterator<ChargingSession>;
  /** Ends every live subscription (their loops finish). */
  endSubscriptions(): Promise<void>;
}

/**
 * Routed topics and the per-subscription ordering, on any pub/sub: the part both adapters share.
 * `pubSub` may deliver `null` for a message it could not read (Redis); it is skipped.
 */
export function createSessionFanOut(options: {
  pubSub: PubSub<SessionTopics>;
  channelPrefix: string;
  logger: Logger;
  isClosed?: () => boolean;
}): SessionFanOut {
  const { pubSub, logger } = options;
  const sessionKey = `${options.channelPrefix}session:updated`;
  const driverKey = `${options.channelPrefix}driver:updated`;
  const live = new Set<OrderedSubscription>();

  return {
    publish(session, publishOptions) {
      if (options.isClosed?.()) {
        logger.debug({ sessionId: session.id, version: session.version }, "session events closed: change not published");
        return;
      }
      const envelope: SessionEnvelope = { session, reannounce: publishOptions?.reannounce === true };
      const origin = activeSpanContext();
      if (origin) envelope.origin = origin;
      try {
        pubSub.publish(sessionKey, session.id, envelope);
        pubSub.publish(driverKey, session.driverId, envelope);
      } catch (error) {
        // The service publishes after its write succeeded: nothing here may fail that write.
        logger.error({ err: error, sessionId: session.id, version: session.version }, "publishing a session change failed");
      }
    },
    subscribe(topic) {
      const source = "sessionId" in topic ? pubSub.subscribe(sessionKey, topic.sessionId) : pubSub.subscribe(driverKey, topic.driverId);
      const subscription = new OrderedSubscription(source, topic, logger, (ended) => live.delete(ended));
      live.add(subscription);
      return subscription;
    },
    async endSubscriptions() {
      await Promise.all([...live].map((subscription) => subscription.return()));
    },
  };
}

/**
 * One subscription: drops what is not for its topic, and any version not greater than the last
 * one it delivered for that session (unless re-announced with the same version). The map holds
 * one entry per session seen by this subscription (one for a session topic, a driver's sessions
 * for a driver topic) and goes away with it.
 *
 * A hand-written iterator rather than an async generator: return() must end a subscription at
 * once, even while it waits for the next event (a generator would only see it at its next yield).
 */
class OrderedSubscription implements AsyncIterableIterator<ChargingSession> {
  private readonly delivered = new Map<string, number>();
  private ended = false;

  constructor(
    private readonly source: AsyncIterator<SessionEnvelope | null>,
    private readonly topic: SessionTopic,
    private readonly logger: Logger,
    private readonly onEnd: (subscription: OrderedSubscription) => void,
  ) {}

  async next(): Promise<IteratorResult<ChargingSession, undefined>> {
    for (;;) {
      if (this.ended) return { done: true, value: undefined };
      const result = await this.source.next();
      if (result.done) {
        this.end();
        return { done: true, value: undefined };
      }
      const session = this.admit(result.value);
      if (session) return { done: false, value: session };
    }
  }

  async return(): Promise<IteratorResult<ChargingSession, undefined>> {
    this.end();
    await this.source.return?.();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<ChargingSession, undefined>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private end(): void {
    if (this.ended) return;
    this.ended = true;
    this.onEnd(this);
  }

  private admit(envelope: SessionEnvelope | null): ChargingSession | undefined {
    if (!envelope) return undefined; // unreadable message, already logged by the deserializer
    const { session } = envelope;
    const forTopic = "sessionId" in this.topic ? session.id === this.topic.sessionId : session.driverId === this.topic.driverId;
    if (!forTopic) {
      this.logger.warn({ sessionId: session.id }, "session event on a topic it does not belong to: dropped");
      return undefined;
    }
    const last = this.delivered.get(session.id);
    if (last !== undefined && (session.version < last || (session.version === last && !envelope.reannounce))) {
      this.logger.debug({ sessionId: session.id, version: session.version, delivered: last }, "older or repeated session version: dropped");
      return undefined;
    }
    this.delivered.set(session.id, session.version);
    rememberOrigin(session, envelope.origin);
    return session;
  }
}

/**
 * Listener exceptions must not reach the event source: a subscriber with more than 1024 undelivered
 * events makes the pub/sub's push throw, which would crash the process (EventTarget reports it as
 * an uncaught exception; Redis would throw inside ioredis's socket handler) and starve the other
 * subscribers of that channel. The event is dropped for that subscriber only, and logged.
 */
export function guardListeners<T extends PubSubEventTarget<SessionTopics>>(target: T, logger: Logger): T {
  const guarded = new WeakMap<object, (event: CustomEvent) => void>();
  const asFunction = (listener: unknown): ((event: CustomEvent) => void) | undefined => {
    if (typeof listener === "function") return listener as (event: CustomEvent) => void;
    if (listener && typeof listener === "object" && "handleEvent" in listener) {
      const object = listener as { handleEvent: (event: CustomEvent) => void };
      return (event) => object.handleEvent(event);
    }
    return undefined;
  };
  const wrapperFor = (listener: object): ((event: CustomEvent) => void) | undefined => {
    const existing = guarded.get(listener);
    if (existing) return existing;
    const call = asFunction(listener);
    if (!call) return undefined;
    const wrapper = (event: CustomEvent) => {
      try {
        call(event);
      } catch (error) {
        logger.error({ err: error, topicKind: topicKind(event.type) }, "a session subscriber could not take an event: dropped for it");
      }
    };
    guarded.set(listener, wrapper);
    return wrapper;
  };
  const facade: PubSubEventTarget<SessionTopics> = {
    addEventListener(type, listener, options) {
      const wrapper = listener ? wrapperFor(listener) : undefined;
      if (wrapper) target.addEventListener(type, wrapper, options);
    },
    removeEventListener(type, listener, options) {
      const wrapper = listener ? guarded.get(listener) : undefined;
      if (wrapper) target.removeEventListener(type, wrapper, options);
    },
    dispatchEvent(event) {
      return target.dispatchEvent(event);
    },
  };
  return facade as T;
}

/** "session" or "driver": the topic without its id (a driver id is not for the logs). */
function topicKind(type: string): string {
  if (type.includes("session:updated:")) return "session";
  if (type.includes("driver:updated:")) return "driver";
  return "other";
}
