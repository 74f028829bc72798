// One count per GraphQL operation over HTTP: its type and whether it answered with errors.
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import type { GatewayMetrics } from "../../observability/metrics.js";

export function requestMetricsPlugin(metrics: GatewayMetrics): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, errors }) {
          metrics.graphqlRequests.inc({
            transport: "http",
            operation_type: operation?.operation ?? "unknown",
            outcome: errors?.length ? "error" : "ok",
          });
        },
      };
    },
  };
}
