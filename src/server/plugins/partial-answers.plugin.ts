// Partial answers stay partial (GraphQL over HTTP): once execution ran and produced data, an error
// in one field (BAD_USER_INPUT, FORBIDDEN, NOT_FOUND, a driver field asked without a token, a
// rate-limited EVSE read) never changes the HTTP status of the whole response. Otherwise a client
// treats a partial answer as a failed request, and a federation router drops the other subgraphs'
// data with it. Failures of the request itself keep theirs: no or a bad token (401, before
// execution), an unparsable or invalid document (400), the mutation rate limit (429, with
// Retry-After), the store unreachable (503), and an execution that produced no data at all.
import type { ApolloServerPlugin, BaseContext } from "@apollo/server";

/** Statuses a request keeps even when it produced data: the whole request was refused or could not be served. */
const REQUEST_LEVEL = new Set([429, 503]);

export function partialAnswersPlugin(): ApolloServerPlugin<BaseContext> {
  return {
    async requestDidStart() {
      let executed = false;
      return {
        async executionDidStart() {
          executed = true;
        },
        async willSendResponse({ response }) {
          if (!executed || response.body.kind !== "single") return;
          const data = response.body.singleResult.data;
          if (data === undefined || data === null) return;
          const status = response.http.status;
          if (status !== undefined && status !== 200 && !REQUEST_LEVEL.has(status)) response.http.status = 200;
        },
      };
    },
  };
}
