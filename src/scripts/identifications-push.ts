// npm run -s identifications:push -- --full-load
//
// One full load of offline authorization (eRoamingPushAuthenticationData fullLoad, docs/oicp.md#push-authentication-data):
// every ACTIVE identification of the registry, sent to the configured Hubject (HUBJECT_BASE_URL,
// the same settings as the gateway). It holds the lease the gateway's "identification-push" job
// takes for each run, so the two never push at the same time (docs/oicp.md#transport).
//
// Without HUBJECT_BASE_URL the gateway talks to its built-in simulator, which lives inside the
// gateway process: there is nothing here to push to. The running gateway does a full load there
// by itself (its first push run, when nothing was pushed yet).

import { startHubject } from "../app/hubject.js";
import { createIdentificationPusher, underPushLease } from "../app/jobs.js";
import { Closers } from "../app/lifecycle.js";
import { ConfigError, loadConfig } from "../config/config.js";
import { createLogger } from "../logger.js";
import { defaultTracer } from "../observability/tracing-context.js";
import { openSqlStore } from "../store/sql/database.js";

const USAGE = "usage: npm run -s identifications:push -- --full-load";
/** How long to wait for a push run of the gateway to finish (it holds the lease meanwhile). */
const LEASE_WAIT_MS = 120_000;

const closers = new Closers();
let code = 1;
try {
  const args = process.argv.slice(2);
  if (args.length !== 1 || args[0] !== "--full-load") {
    console.error(USAGE);
    code = 2;
  } else {
    code = await fullLoad();
  }
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
} finally {
  await closers.closeAll();
}
process.exit(code);

async function fullLoad(): Promise<number> {
  const config = loadConfig();
  if (config.hubject.mode === "simulator") {
    console.error(
      "HUBJECT_BASE_URL is not set: the gateway uses its built-in Hubject simulator, which lives inside the gateway " +
        "process and holds only what that process pushed. A full load there happens through the running gateway " +
        "(its first identification-push run does one by itself). Set HUBJECT_BASE_URL to push to a Hubject.",
    );
    return 2;
  }
  if (config.identifications.authorizationMode === "online") {
    console.error("HUBJECT_AUTHORIZATION_MODE=online: offline authorization is off. Set it to offline or both to push identifications.");
    return 2;
  }
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
  const store = openSqlStore({ url: config.databaseUrl, sessionCacheSize: 0, logger });
  closers.push(() => store.close());
  await store.migrate();
  const { hubject } = await startHubject(config, { logger, tracer: defaultTracer(), metrics: null, closers });
  const pusher = createIdentificationPusher(config, { hubject, identifications: store.identifications, metrics: null, logger });
  closers.push(() => pusher.close());

  const deadline = Date.now() + LEASE_WAIT_MS;
  for (;;) {
    const report = await underPushLease(config.databaseUrl, logger, () => pusher.fullLoad());
    if (report) {
      const records = report.records.fullLoad + report.records.insert;
      if (report.complete) {
        console.log(`full load pushed to Hubject (${config.hubject.providerId}): ${records} identifications in ${report.calls} call(s)`);
        return 0;
      }
      console.error(`full load incomplete after ${report.calls} call(s), ${records} identifications accepted; see the log above`);
      return 1;
    }
    if (Date.now() > deadline) {
      console.error("another process is pushing identifications (the lease identification-push is taken); try again later");
      return 1;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}
