// Step: Hubject. The built-in simulator when HUBJECT_BASE_URL is unset, else the real one (with
// its client certificate checked now, not at the first driver's start); the datasource on top.
import type { Tracer } from "@opentelemetry/api";
import type { Config } from "../config/config.js";
import { checkClientCertificate } from "../datasources/client-certificate.js";
import { HubjectDatasource } from "../datasources/hubject.datasource.js";
import type { Logger } from "../logger.js";
import { type GatewayMetrics, hubjectObserver } from "../observability/metrics.js";
import { type HubjectSimulator, type SimulatorPace, startSimulator } from "../simulator/hubject.simulator.js";
import type { Closers } from "./lifecycle.js";

export interface HubjectStep {
  hubject: HubjectDatasource;
  simulator: HubjectSimulator | null;
  /** The remote start/stop timeout in force (a test may shorten it). */
  remoteTimeoutMs: number;
}

export async function startHubject(
  config: Config,
  deps: { logger: Logger; tracer: Tracer; metrics: GatewayMetrics | null; closers: Closers },
  overrides: { simulatorPace?: Partial<SimulatorPace>; shortRemoteTimeoutMs?: number } = {},
): Promise<HubjectStep> {
  const { logger, closers } = deps;
  let simulator: HubjectSimulator | null = null;
  let baseUrl: string;
  let tls = {};
  if (config.hubject.mode === "simulator") {
    simulator = await startSimulator({
      providerId: config.hubject.providerId,
      port: config.hubject.simulatorPort,
      pace: { ...config.hubject.pace, ...overrides.simulatorPace },
      logger: logger.child({ component: "simulator" }),
    });
    const started = simulator;
    closers.push(() => started.close());
    baseUrl = simulator.url;
  } else {
    baseUrl = config.hubject.baseUrl;
    tls = config.hubject.tls;
    if (config.hubject.tls.certFile) {
      checkClientCertificate({
        certFile: config.hubject.tls.certFile,
        keyFile: config.hubject.tls.keyFile,
        caFile: config.hubject.tls.caFile,
        providerId: config.hubject.providerId,
        logger: logger.child({ component: "hubject" }),
      });
    }
  }
  const remoteTimeoutMs = overrides.shortRemoteTimeoutMs ?? config.hubjectTimeouts.remoteMs;
  const hubject = new HubjectDatasource(
    {
      baseUrl,
      providerId: config.hubject.providerId,
      tls,
      remoteTimeoutMs,
      requestTimeoutMs: config.hubjectTimeouts.requestMs,
      maxSockets: config.hubjectMaxSockets,
      resilience: {
        retryAttempts: config.hubjectResilience.retryAttempts,
        breakerFailures: config.hubjectResilience.breakerFailures,
        breakerHalfOpenAfterMs: config.hubjectResilience.breakerHalfOpenAfterMs,
      },
      logger: logger.child({ component: "hubject" }),
      tracer: deps.tracer,
      ...(deps.metrics ? { observer: hubjectObserver(deps.metrics) } : {}),
    },
    overrides.shortRemoteTimeoutMs === undefined ? undefined : { allowShortRemoteTimeout: true },
  );
  closers.push(() => hubject.close());
  return { hubject, simulator, remoteTimeoutMs };
}
