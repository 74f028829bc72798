// Ready = this replica can serve: its store and pub/sub answer. Hubject's circuit is reported but
// does not fail readiness: every replica shares the same Hubject, so taking them all out of the
// load balancer would only stop reads that still work.
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
      checks.pubsub = "ok";
    } catch {
      ready = false;
      checks.pubsub = "failing";
    }
    checks.hubjectCircuit = deps.hubject.circuitState();
    const problem = deps.hubject.configurationProblem();
    if (problem) checks.hubjectConfiguration = problem.kind;
    return { ready, checks };
  };
}
