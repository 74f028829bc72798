import "reflect-metadata";
import { startGateway } from "./app/gateway.js";
import { ConfigError, loadConfig } from "./config/config.js";
import { createLogger } from "./logger.js";

async function main() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel });
  if (config.auth.mode === "secret" && config.auth.isDevDefault) {
    logger.warn("AUTH_JWT_SECRET is not set: using the built-in development secret (never in production)");
  }
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(config, { logger });
  } catch (error) {
    // Settings checked while starting (certificates, the persisted-query file) read like config errors.
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  // Signals first: whoever reads "gateway ready" may stop it at once.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    await gateway.close();
    process.exit(0);
  };
  process.on("SIGINT", () => void stop("SIGINT"));
  process.on("SIGTERM", () => void stop("SIGTERM"));

  logger.info(
    {
      graphql: gateway.graphqlUrl,
      websocket: gateway.websocketUrl,
      oicp: gateway.oicpUrl,
      hubject: gateway.simulator ? `built-in simulator at ${gateway.simulator.url}` : "remote",
      store: config.databaseUrl,
    },
    `gateway ready${config.sandbox ? `: open ${gateway.graphqlUrl} for Apollo Sandbox` : ""}`,
  );
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
