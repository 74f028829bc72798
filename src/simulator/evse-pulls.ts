// The simulated Hubject's EVSE pulls (docs/oicp.md#evse-data, #evse-status): PullEvseData v2.3
// (a Spring page, page/size in the query, LastCall deltas) and PullEvseStatus v2.1, all and by
// operator, answered from the generated catalogue (evse-data.ts).
import type { ServerResponse } from "node:http";
import type { GeneratedEvseData } from "./evse-data.js";

interface PullContext {
  res: ServerResponse;
  body: Record<string, unknown>;
  query: URLSearchParams;
}

export interface EvsePullDeps<C extends PullContext> {
  data: () => GeneratedEvseData;
  /** The simulator's fault gate (hubject.simulator.ts admit): false when a fault answered. */
  admit: (ctx: C) => boolean;
  reply: (ctx: C, answer: unknown) => void;
  validationError: (res: ServerResponse, errors: Array<{ fieldReference: string; errorMessage: string }>) => void;
}

const FORMATS = ["Google", "DegreeMinuteSeconds", "DecimalDegree"];
const OK = { Code: "000", Description: null, AdditionalInfo: null };

export function evsePullHandlers<C extends PullContext>(deps: EvsePullDeps<C>) {
  return {
    pullEvseData(ctx: C): void {
      const { body, query } = ctx;
      const errors: Array<{ fieldReference: string; errorMessage: string }> = [];
      if (typeof body.GeoCoordinatesResponseFormat !== "string" || !FORMATS.includes(body.GeoCoordinatesResponseFormat)) {
        errors.push({
          fieldReference: "geoCoordinatesResponseFormat",
          errorMessage: "must be one of Google, DegreeMinuteSeconds, DecimalDegree",
        });
      }
      let lastCall: number | null = null;
      if (body.LastCall != null) {
        lastCall =
          typeof body.LastCall === "string" && /T.*(Z|[+-]\d{2}:\d{2})$/.test(body.LastCall) ? Date.parse(body.LastCall) : Number.NaN;
        if (Number.isNaN(lastCall)) errors.push({ fieldReference: "lastCall", errorMessage: "must be a date-time with offset" });
        if (body.SearchCenter != null || body.OperatorIds != null || body.CountryCodes != null) {
          errors.push({ fieldReference: "lastCall", errorMessage: "cannot be combined with SearchCenter, OperatorIds or CountryCodes" });
        }
      }
      const page = query.has("page") ? Number(query.get("page")) : 0;
      const size = query.has("size") ? Number(query.get("size")) : 20;
      if (!Number.isInteger(page) || page < 0) errors.push({ fieldReference: "page", errorMessage: "must be a non-negative integer" });
      if (!Number.isInteger(size) || size < 1 || size > 2000)
        errors.push({ fieldReference: "size", errorMessage: "must be between 1 and 2000" });
      if (errors.length > 0) return deps.validationError(ctx.res, errors);
      if (!deps.admit(ctx)) return;
      const { content, totalElements } = deps.data().page(page, size, lastCall);
      const totalPages = Math.ceil(totalElements / size);
      deps.reply(ctx, {
        content,
        number: page,
        size,
        totalElements,
        totalPages,
        first: page === 0,
        last: page >= totalPages - 1,
        numberOfElements: content.length,
        StatusCode: OK,
      });
    },

    pullEvseStatus(ctx: C): void {
      if (!deps.admit(ctx)) return;
      const data = deps.data();
      data.counters.pullEvseStatus++;
      deps.reply(ctx, { EvseStatuses: { OperatorEvseStatus: data.statuses(null) }, StatusCode: OK });
    },

    pullEvseStatusByOperatorId(ctx: C): void {
      const ids = ctx.body.OperatorID;
      if (!Array.isArray(ids) || ids.length === 0 || ids.some((id) => typeof id !== "string")) {
        return deps.validationError(ctx.res, [{ fieldReference: "operatorID", errorMessage: "must be a non-empty array of OperatorIDs" }]);
      }
      if (!deps.admit(ctx)) return;
      const data = deps.data();
      data.counters.pullEvseStatusByOperatorId++;
      deps.reply(ctx, { EvseStatuses: { OperatorEvseStatus: data.statuses(ids as string[]) }, StatusCode: OK });
    },
  };
}
