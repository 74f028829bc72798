// Step: the OICP listener Hubject calls, behind mutual TLS and the allow-lists.
import type { Tracer } from "@opentelemetry/api";
import type { Config } from "../config/config.js";
import type { Logger } from "../logger.js";
import type { GatewayMetrics } from "../observability/metrics.js";
import type { OpsHandler } from "../observability/ops-endpoints.js";
import { createOicpListener } from "../oicp/inbound/listener.js";
import type { SessionService } from "../sessions/session.service.js";
import type { HubjectSimulator } from "../simulator/hubject.simulator.js";
import { type Closers, closeServer, displayHost, listen } from "./lifecycle.js";

/** Starts the listener; returns the Service URL to register with Hubject (without /api/oicp). */
export async function startOicp(
  config: Config,
  deps: {
    sessions: SessionService;
    ops: OpsHandler;
    tracer: Tracer;
    metrics: GatewayMetrics | null;
    simulator: HubjectSimulator | null;
    logger: Logger;
    closers: Closers;
  },
): Promise<string> {
  const server = createOicpListener({
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
