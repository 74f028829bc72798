// Run as a child process by session.events.test.ts: two Redis adapters exchange one change, then
// close(). The process must then exit by itself (no open handles); it never calls process.exit.
// Uses the build in dist/ (made by vitest's globalSetup).
import { randomUUID } from "node:crypto";
import { pino } from "pino";

const { createRedisSessionEvents } = await import(new URL("../../dist/src/pubsub/redis.js", import.meta.url).href);

const url = process.argv[2] ?? "redis://127.0.0.1:6379";
const channelPrefix = `test-${randomUUID()}:`;
const logger = pino({ level: "silent" });
const a = createRedisSessionEvents({ url, channelPrefix, logger });
const b = createRedisSessionEvents({ url, channelPrefix, logger });

const now = new Date();
const session = {
  id: randomUUID(),
  driverId: "driver-exit",
  origin: "APP",
  hubjectSessionId: null,
  cpoPartnerSessionId: null,
  evseId: "DE*ABC*E1234*1",
  evcoId: "DE-8EO-CAET5E4XY-3",
  partnerProductId: null,
  status: "REQUESTED",
  lastStatusCode: null,
  requestedAt: now,
  chargingStartedAt: null,
  chargingEndedAt: null,
  sessionStartedAt: null,
  sessionEndedAt: null,
  stopRequestedAt: null,
  updatedAt: now,
  consumedEnergyKwh: null,
  lastProgressAt: null,
  lastEventAt: null,
  figuresSource: null,
  errorType: null,
  errorInfo: null,
  chargeDetailRecord: null,
  version: 1,
};

let received;
let onReceived;
const arrived = new Promise((resolve) => (onReceived = resolve));
const bySession = (async () => {
  for await (const event of b.subscribe({ sessionId: session.id })) {
    received = event;
    onReceived();
  }
  console.log("subscription ended");
})();
// Left open on purpose: close() must end it.
const byDriver = (async () => {
  for await (const _ of a.subscribe({ driverId: session.driverId })) void _;
})();

await Promise.all([a.ping(), b.ping()]);
a.publish(session);
// The change arrives, or 5 s pass; the bound's timer is cleared, so it holds nothing open.
let bound;
await Promise.race([arrived, new Promise((resolve) => (bound = setTimeout(resolve, 5_000)))]);
clearTimeout(bound);
console.log(`received ${received ? received.version : "nothing"} ${received?.requestedAt instanceof Date ? "with dates" : ""}`);

await Promise.all([a.close(), b.close()]);
await Promise.all([bySession, byDriver]);
console.log("closed");
