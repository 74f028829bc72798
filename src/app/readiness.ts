// Ready = this replica can serve: its store answers. Two things are reported without failing
// readiness, because every replica shares them and taking all replicas out of the load balancer
// would only stop what still works:
// - the pub/sub (Redis): while it is down, starts, stops and reads work; pushes wait and each
//   replica catches its subscribers up from the store when Redis is back ("degraded");
// - Hubject's circuit.
import type { HubjectDatasource } from "../datasources/hubject.datasource.js";
import type { ReadinessReport } from "../observability/ops-endpoints.js";
import type { SessionEvents } from "../sessions/ports.js";
import type { SessionStore } from "../sessions/session.store.js";

export function createReadiness(deps: {
  store: SessionStore;
  events: SessionEvents;
  hubject: Pick<HubjectDatasource, "circuitState" | "configurationProblem">;
}): () => Promise<ReadinessReport> {
  return async () => {
    const checks: Record<string, string> = {};
    let ready = true;
    try {
      await deps.store.get("00000000-0000-0000-0000-000000000000");
      checks.store = "ok";
    } catch {
      ready = false;
      checks.store = "failing";
    }
    try {
      await deps.events.ping();
      checks.pubsub = deps.events.degraded?.() ? "degraded" : "ok";
    } catch {
      checks.pubsub = "degraded";
    }
    checks.hubjectCircuit = deps.hubject.circuitState();
    const problem = deps.hubject.configurationProblem();
    if (problem) checks.hubjectConfiguration = problem.kind;
    return { ready, checks };
  };
}
