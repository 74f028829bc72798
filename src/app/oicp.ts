// Step: the OICP listener Hubject calls, behind mutual TLS and the allow-lists.
import type { Tracer } from "@opentelemetry/api";
import type { Config } from "../config/config.js";
import { AuthorizationService } from "../identifications/authorize.js";
import type { IdentificationRegistry } from "../identifications/registry.js";
import type { Logger } from "../logger.js";
import { authorizationMetrics, type GatewayMetrics } from "../observability/metrics.js";
import type { OpsHandler } from "../observability/ops-endpoints.js";
import { createOicpListener } from "../oicp/inbound/listener.js";
import { SYSTEM_CLOCK } from "../sessions/ports.js";
import type { SessionService } from "../sessions/session.service.js";
import type { HubjectSimulator } from "../simulator/hubject.simulator.js";
import { type Closers, closeServer, displayHost, listen } from "./lifecycle.js";

/** Starts the listener; returns the Service URL to register with Hubject (without /api/oicp). */
export async function startOicp(
  config: Config,
  deps: {
    sessions: SessionService;
    identifications: IdentificationRegistry;
    ops: OpsHandler;
    tracer: Tracer;
    metrics: GatewayMetrics | null;
    simulator: HubjectSimulator | null;
    logger: Logger;
    closers: Closers;
  },
): Promise<string> {
  const authorization = new AuthorizationService({
    identifications: deps.identifications,
    sessions: deps.sessions.charger,
    clock: SYSTEM_CLOCK,
    logger: deps.logger.child({ component: "authorization" }),
    ...(deps.metrics ? { metrics: authorizationMetrics(deps.metrics) } : {}),
  });
  const server = createOicpListener({
    authorization: {
      authorization,
      providerId: config.hubject.providerId,
      online: config.identifications.authorizationMode !== "offline",
    },
    ops: deps.ops,
    tracer: deps.tracer,
    onRejected: (operation) => deps.metrics?.inboundMessages.inc({ type: operation, result: "unstorable" }),
    sessions: deps.sessions,
    logger: deps.logger.child({ component: "oicp" }),
    pathPrefix: config.oicp.pathPrefix,
    maxBodyBytes: config.oicp.maxBodyBytes,
    tls: config.oicp.tls,
    allowedIps: config.oicp.allowedIps,
  });
  const port = await listen(server, config.oicp.port, config.oicp.host);
  deps.closers.push(() => {
    server.dispose();
    return closeServer(server);
  });
  deps.simulator?.setGatewayOicpUrl(`${server.scheme}://127.0.0.1:${port}${config.oicp.pathPrefix}`);
  return `${server.scheme}://${displayHost(config.oicp.host)}:${port}${config.oicp.pathPrefix}`;
}
