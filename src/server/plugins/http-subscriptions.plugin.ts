// Subscriptions run over graphql-ws on /graphql, not over plain HTTP: a subscription POSTed to
// /graphql is a client mistake, answered with 400 BAD_REQUEST and a message saying where to go,
// before anything executes (graphql-js would run it as a query and fail inside type-graphql,
// "Internal server error" and an error log line per request).
//
// The one HTTP subscription served is Apollo's callback protocol for federation routers: its
// request carries extensions.subscription and is answered by federation/subscription-callback.ts
// when SUBSCRIPTION_CALLBACK_URLS is set. Such a request that nothing takes over (callbacks off)
// reaches execution, where jit-executor.ts refuses it with the same error.
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { GraphQLError } from "graphql";

export function subscriptionOverHttpError(): GraphQLError {
  return new GraphQLError("Subscriptions are not served over HTTP: subscribe over graphql-ws (a websocket) on this same path.", {
    extensions: { code: "BAD_REQUEST", http: { status: 400 } },
  });
}

export function httpSubscriptionsPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart({ request }) {
      if (request.extensions?.subscription !== undefined) return undefined;
      return {
        async didResolveOperation({ operation }) {
          if (operation?.operation === "subscription") throw subscriptionOverHttpError();
        },
      };
    },
  };
}
