// npm run -s inbound -- list|show|reapply|choose-cdr (operator/inbound-tool.ts). Uses the
// gateway's own settings (DATABASE_URL, REDIS_URL): with Redis, re-applied changes reach the
// drivers' apps at once; without it, apps see them on their next read.

import { Closers } from "../app/lifecycle.js";
import { createSessionEvents } from "../app/sessions.js";
import { ConfigError, loadConfig } from "../config/config.js";
import { createLogger } from "../logger.js";
import { oicpInboundReader } from "../oicp/inbound/parse.js";
import { runInboundTool } from "../operator/inbound-tool.js";
import { InboundMessages } from "../sessions/inbound-messages.js";
import { SYSTEM_CLOCK } from "../sessions/ports.js";
import { SessionWriter } from "../sessions/session-writer.js";
import { openSqlStore } from "../store/sql/database.js";

const closers = new Closers();
let code = 1;
try {
  const config = loadConfig();
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
  const store = openSqlStore({ url: config.databaseUrl, sessionCacheSize: 0, logger });
  closers.push(() => store.close());
  await store.migrate();
  const events = createSessionEvents(config, { store, metrics: null, logger, closers });
  const writer = new SessionWriter({ store, events, clock: SYSTEM_CLOCK });
  const inbound = new InboundMessages({
    store,
    writer,
    reader: oicpInboundReader,
    clock: SYSTEM_CLOCK,
    logger,
    matchWindowMs: config.sessionMatchWindowMs,
  });
  code = await runInboundTool(process.argv.slice(2), { store, inbound, out: (line) => console.log(line) });
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
} finally {
  await closers.closeAll();
}
process.exit(code);
