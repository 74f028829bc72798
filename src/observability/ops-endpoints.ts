// The operator endpoints, the same on both listeners: /healthz (the process is alive), /readyz
// (store, pub/sub and Hubject's circuit), /metrics (Prometheus).
import type { IncomingMessage, ServerResponse } from "node:http";
import type { GatewayMetrics } from "./metrics.js";

export interface ReadinessReport {
  ready: boolean;
  checks: Record<string, string>;
}

export type OpsHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

export function createOpsEndpoints(options: { readiness: () => Promise<ReadinessReport>; metrics: GatewayMetrics | null }): OpsHandler {
  return (req, res) => {
    if (req.method !== "GET") return false;
    const path = (req.url ?? "/").split("?")[0];
    if (path === "/healthz") {
      json(res, 200, { status: "ok" });
      return true;
    }
    if (path === "/readyz") {
      options.readiness().then(
        (report) => json(res, report.ready ? 200 : 503, { status: report.ready ? "ready" : "not ready", checks: report.checks }),
        () => json(res, 503, { status: "not ready" }),
      );
      return true;
    }
    if (path === "/metrics" && options.metrics) {
      const registry = options.metrics.registry;
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { "content-type": registry.contentType });
          res.end(text);
        },
        () => json(res, 500, { status: "metrics unavailable" }),
      );
      return true;
    }
    return false;
  };
}

function json(res: ServerResponse, status: number, body: unknown) {
  const payload = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) });
  res.end(payload);
}
