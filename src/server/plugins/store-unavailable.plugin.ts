// A request that failed because the session store could not be reached (StoreUnavailableError:
// a failover, a lost connection) answers HTTP 503 with Retry-After, so that clients and load
// balancers retry instead of reading it as a broken request. The error itself is formatted in
// error-masking.ts (code SERVICE_UNAVAILABLE, retryable).
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";
import { unwrapResolverError } from "@apollo/server/errors";
import { StoreUnavailableError } from "../../sessions/session.store.js";

const RETRY_AFTER_SECONDS = "1";

export function storeUnavailablePlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, response }) {
          if (!errors.some((error) => unwrapResolverError(error) instanceof StoreUnavailableError)) return;
          response.http.status = 503;
          response.http.headers.set("retry-after", RETRY_AFTER_SECONDS);
        },
      };
    },
  };
}
