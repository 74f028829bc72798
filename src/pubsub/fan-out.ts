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
//
// Fair delivery (issue 12): one listener per topic on the event target, whatever the number of
// subscriptions. A change is put into each of the topic's subscriptions at once (cheap), but
// handing one to a waiting consumer wakes it, and the consumer's work (executing the
// subscription, serialising, writing to the socket) runs in the microtasks right after. So the
// wakes go through one queue per process (FairDelivery): at most DELIVERY_SLICE per turn of the
// event loop, first come first served, whoever asks (a new change, or a consumer that finished a
// write and finds more waiting). A session with thousands of subscriptions costs everyone else at
// most one slice's work at a time, other drivers' requests are served between slices (setImmediate
// runs after the poll for I/O), and another session's change waits for one pass over the hot
// one's subscriptions, not for all of its backlog. The subscription limits
// (server/subscription-limits.ts) keep a topic far smaller anyway: only its driver may subscribe.
//
// Bounded buffers: a subscription whose consumer is slow (graphql-ws waits for each write to its
// socket) keeps what it has not taken yet, up to MAX_PENDING changes; past that it keeps only the
// latest version of each session (each event is the whole session), in the place of its first
// pending change, so that a change published before another still arrives before it.
import type { PubSubEventTarget } from "@graphql-yoga/subscription";
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

/** Routing keys are `${channelPrefix}session:updated` and `${channelPrefix}driver:updated`; events go to `${key}:${id}`. */
export type SessionTopics = Record<string, [id: string, envelope: SessionEnvelope]>;

/**
 * Consumers woken per turn of the event loop. One wake costs one execution of the subscription's
 * selection and one socket write (some tens of µs for sessionUpdated, bench/hot-session.mjs), so
 * a slice holds the loop for a few milliseconds at most.
 */
export const DELIVERY_SLICE = 32;

/**
 * Changes one subscription may hold before it keeps only the latest of each session. Entries are
 * references to envelopes shared by all subscribers of a topic: 128 of them are a few KiB.
 */
export const MAX_PENDING = 128;

export interface SessionFanOut {
  publish(session: ChargingSession, options?: PublishOptions): void;
  subscribe(topic: SessionTopic): AsyncIterableIterator<ChargingSession>;
  /**
   * Hands `session` to this process's subscriptions of its topics only, as if it had come through
   * the pub/sub (the catch-up after an outage, catch-up.ts). A version a subscription delivered
   * already is dropped as usual, so catching up twice, or a change that did arrive, costs nothing.
   */
  redeliver(session: ChargingSession): void;
  /** Ends every live subscription (their loops finish). */
  endSubscriptions(): Promise<void>;
}

/**
 * Routed topics, fair delivery and the per-subscription ordering, on any event target: the part
 * both adapters share. The target may deliver `null` for a message it could not read (Redis); it
 * is skipped.
 */
export function createSessionFanOut(options: {
  eventTarget: PubSubEventTarget<SessionTopics>;
  channelPrefix: string;
  logger: Logger;
  isClosed?: () => boolean;
  /** Subscriptions woken per turn of the event loop; DELIVERY_SLICE unless a test says otherwise. */
  deliverySlice?: number;
}): SessionFanOut {
  const { eventTarget, logger } = options;
  const sessionKey = `${options.channelPrefix}session:updated`;
  const driverKey = `${options.channelPrefix}driver:updated`;
  const topicOf = (topic: SessionTopic) => ("sessionId" in topic ? `${sessionKey}:${topic.sessionId}` : `${driverKey}:${topic.driverId}`);
  const delivery = new FairDelivery(options.deliverySlice ?? DELIVERY_SLICE);
  const feeds = new Map<string, TopicFeed>();
  const live = new Set<OrderedSubscription>();

  const membership: Membership = {
    join(subscription) {
      if (options.isClosed?.()) return false;
      const name = topicOf(subscription.topic);
      let feed = feeds.get(name);
      if (!feed) {
        feed = new TopicFeed(name, eventTarget);
        feeds.set(name, feed);
      }
      feed.subscriptions.add(subscription);
      live.add(subscription);
      return true;
    },
    leave(subscription) {
      live.delete(subscription);
      const name = topicOf(subscription.topic);
      const feed = feeds.get(name);
      if (!feed?.subscriptions.delete(subscription) || feed.subscriptions.size > 0) return;
      feed.close();
      feeds.delete(name);
    },
  };

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
        eventTarget.dispatchEvent(new CustomEvent(`${sessionKey}:${session.id}`, { detail: envelope }));
        eventTarget.dispatchEvent(new CustomEvent(`${driverKey}:${session.driverId}`, { detail: envelope }));
      } catch (error) {
        // The service publishes after its write succeeded: nothing here may fail that write.
        logger.error({ err: error, sessionId: session.id, version: session.version }, "publishing a session change failed");
      }
    },
    subscribe(topic) {
      return new OrderedSubscription(topic, membership, delivery, logger);
    },
    redeliver(session) {
      const envelope: SessionEnvelope = { session, reannounce: false };
      for (const name of [`${sessionKey}:${session.id}`, `${driverKey}:${session.driverId}`]) {
        for (const subscription of feeds.get(name)?.subscriptions ?? []) subscription.offer(envelope);
      }
    },
    async endSubscriptions() {
      await Promise.all([...live].map((subscription) => subscription.return()));
    },
  };
}

interface Membership {
  /** Registers a subscription with its topic (on its first read); false once the events are closed. */
  join(subscription: OrderedSubscription): boolean;
  leave(subscription: OrderedSubscription): void;
}

/** One topic's listener on the event target and the subscriptions it feeds. */
class TopicFeed {
  readonly subscriptions = new Set<OrderedSubscription>();
  private readonly listener = (event: CustomEvent<SessionEnvelope | null>) => {
    // Unreadable messages (null) were logged by the deserializer.
    const envelope = event.detail;
    if (envelope) for (const subscription of this.subscriptions) subscription.offer(envelope);
  };

  constructor(
    private readonly name: string,
    private readonly target: PubSubEventTarget<SessionTopics>,
  ) {
    target.addEventListener(name, this.listener);
  }

  close(): void {
    this.target.removeEventListener(this.name, this.listener);
  }
}

/**
 * Wakes consumers, first come first served, at most `slice` per turn of the event loop. While
 * nobody is queued and this turn's slice is not spent, a wake happens at once (a small fan-out
 * adds no latency); otherwise it waits for setImmediate, that is until the I/O that arrived
 * meanwhile (other drivers' requests) has been served.
 */
class FairDelivery {
  private queue: OrderedSubscription[] = [];
  private head = 0;
  /** Wakes since this turn began. */
  private spent = 0;
  private turn: NodeJS.Immediate | undefined;

  constructor(private readonly slice: number) {
    if (!Number.isInteger(slice) || slice < 1) throw new Error(`deliverySlice must be a positive integer, got ${slice}`);
  }

  /**
   * Whether `subscription` may wake its consumer now (counted); if not, it is queued and woken
   * later. The count starts again at the next turn scheduled here (erring on the side of fewer).
   */
  wakeNowOrQueue(subscription: OrderedSubscription): boolean {
    this.turn ??= setImmediate(this.nextTurn);
    if (this.spent < this.slice && this.head === this.queue.length) {
      this.spent++;
      return true;
    }
    this.queue.push(subscription);
    return false;
  }

  private readonly nextTurn = () => {
    this.turn = undefined;
    this.spent = 0;
    while (this.spent < this.slice && this.head < this.queue.length) {
      const subscription = this.queue[this.head++]!;
      if (subscription.wake()) this.spent++;
    }
    if (this.head === this.queue.length) {
      this.queue = [];
      this.head = 0;
    } else {
      if (this.head > 1_024) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      this.turn = setImmediate(this.nextTurn);
    }
  };
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * One subscription: registers with its topic on its first read (so that one never read holds
 * nothing), keeps what it was handed until its consumer takes it (MAX_PENDING, then the latest of
 * each session), wakes its consumer when FairDelivery says so, and drops what is not for its
 * topic and any version not greater than the last one it delivered for that session (unless
 * re-announced with the same version). `delivered`
 * holds one entry per session seen (one for a session topic, a driver's sessions for a driver
 * topic) and goes away with the subscription.
 *
 * A hand-written iterator rather than an async generator: return() must end a subscription at
 * once, even while it waits for the next event (a generator would only see it at its next yield).
 */
class OrderedSubscription implements AsyncIterableIterator<ChargingSession> {
  private readonly delivered = new Map<string, number>();
  private pending: SessionEnvelope[] = [];
  private readonly waiting: Array<(result: IteratorResult<ChargingSession, undefined>) => void> = [];
  private state: "new" | "live" | "ended" = "new";
  /** In FairDelivery's queue, waiting for its turn to wake the consumer. */
  private queued = false;
  private overflowWarned = false;

  constructor(
    readonly topic: SessionTopic,
    private readonly membership: Membership,
    private readonly delivery: FairDelivery,
    private readonly logger: Logger,
  ) {}

  next(): Promise<IteratorResult<ChargingSession, undefined>> {
    if (this.state === "new") {
      this.state = "live";
      if (!this.membership.join(this)) this.state = "ended";
    }
    if (this.state === "ended") return Promise.resolve(DONE);
    // Even with changes already pending, the wake waits for its turn (a consumer that just
    // finished a write is one more piece of work like any other).
    const next = new Promise<IteratorResult<ChargingSession, undefined>>((resolve) => this.waiting.push(resolve));
    this.askToWake();
    return next;
  }

  /** A change for this subscription's topic (TopicFeed). */
  offer(envelope: SessionEnvelope): void {
    if (this.state !== "live") return;
    if (this.pending.length >= MAX_PENDING) this.keepLatestOnly();
    if (this.pending.length >= MAX_PENDING) {
      // MAX_PENDING distinct sessions of one driver unread: the consumer is gone in all but name.
      if (!this.overflowWarned)
        this.logger.warn({ pending: this.pending.length }, "a session subscriber is not reading: changes dropped for it");
      this.overflowWarned = true;
      return;
    }
    this.pending.push(envelope);
    this.askToWake();
  }

  /** FairDelivery's turn for this subscription: hands what is pending to the waiting consumer; whether it woke it. */
  wake(): boolean {
    this.queued = false;
    let woke = false;
    while (this.state === "live" && this.waiting.length > 0) {
      const session = this.take();
      if (!session) break;
      this.waiting.shift()!({ done: false, value: session });
      woke = true;
    }
    return woke;
  }

  private askToWake(): void {
    if (this.queued || this.waiting.length === 0 || this.pending.length === 0) return;
    if (this.delivery.wakeNowOrQueue(this)) this.wake();
    else this.queued = true;
  }

  async return(): Promise<IteratorResult<ChargingSession, undefined>> {
    if (this.state === "live") this.membership.leave(this);
    this.state = "ended";
    this.pending = [];
    for (const resolve of this.waiting.splice(0)) resolve(DONE);
    return DONE;
  }

  async throw(error?: unknown): Promise<IteratorResult<ChargingSession, undefined>> {
    await this.return();
    throw error;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** The next pending change this subscription delivers, if any. */
  private take(): ChargingSession | undefined {
    while (this.pending.length > 0) {
      const session = this.admit(this.pending.shift()!);
      if (session) return session;
    }
    return undefined;
  }

  /** The latest version of each pending session, where that session's first pending change was. */
  private keepLatestOnly(): void {
    const latest = new Map<string, SessionEnvelope>();
    for (const envelope of this.pending) {
      const kept = latest.get(envelope.session.id);
      if (!kept || supersedes(envelope, kept)) latest.set(envelope.session.id, envelope);
    }
    this.pending = [...latest.values()];
  }

  private admit(envelope: SessionEnvelope): ChargingSession | undefined {
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

/** Whether `a` would be delivered after `b` (of the same session): newer, or the same re-announced. */
const supersedes = (a: SessionEnvelope, b: SessionEnvelope) =>
  a.session.version > b.session.version || (a.session.version === b.session.version && a.reannounce);

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
