// npm run -s identifications:import -- FILE.csv (operator/identifications-import.ts). Uses the
// gateway's own settings (DATABASE_URL, REDIS_URL): with Redis, every running replica hears of
// the changes and drops what it cached of them at once; without it, a single gateway process
// re-reads them when its cache entries expire (IDENTIFICATION_CACHE_MS).

import { createIdentifications } from "../app/identifications.js";
import { Closers } from "../app/lifecycle.js";
import { ConfigError, loadConfig } from "../config/config.js";
import { createLogger } from "../logger.js";
import { runIdentificationsImport } from "../operator/identifications-import.js";
import { openSqlStore } from "../store/sql/database.js";

const closers = new Closers();
let code = 3;
try {
  const config = loadConfig();
  const logger = createLogger({ level: process.env.LOG_LEVEL ?? "warn" });
  const store = openSqlStore({ url: config.databaseUrl, sessionCacheSize: 0, logger });
  closers.push(() => store.close());
  await store.migrate();
  const registry = createIdentifications(config, { store, logger, closers });
  code = await runIdentificationsImport(process.argv.slice(2), { registry, out: (line) => console.log(line) });
} catch (error) {
  console.error(error instanceof ConfigError || error instanceof Error ? error.message : error);
} finally {
  // Closes Redis after the change messages went out (QUIT follows the queued PUBLISHes), then the store.
  await closers.closeAll();
}
process.exit(code);
