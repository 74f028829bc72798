// The table of what Hubject calls on the EMP (docs/oicp.md#inbound): Hubject appends its own
// /api/oicp/... path to the registered Service URL. Adding an inbound operation is one row here
// and one handler in handlers/.
import { OICP_API_PREFIX } from "../wire/types.js";
import type { InboundHandler } from "./handler.js";
import { type AuthorizationDeps, authorizeStartHandler, authorizeStopHandler } from "./handlers/authorization.js";
import { chargeDetailRecordHandler } from "./handlers/charge-detail-record.js";
import { chargingNotificationHandler } from "./handlers/charging-notification.js";
import type { SessionMessageDeps } from "./handlers/session-message.js";

export interface InboundRoute {
  operation: string;
  /** Matches the whole path; a capture group, when there is one, is the calling CPO's OperatorID. */
  pattern: RegExp;
  handle: InboundHandler;
  /** The answer to a body that is too large or not JSON, when it is not an acknowledgement (authorizations). */
  unreadable?: (info: string) => unknown;
}

export type InboundRouteDeps = SessionMessageDeps & { authorization?: AuthorizationDeps };

/** An authorization that cannot be read is NotAuthorized with 022 (docs/oicp.md#authorize-start). */
const notAuthorized = (info: string) => ({
  AuthorizationStatus: "NotAuthorized",
  StatusCode: { Code: "022", Description: "Data error", AdditionalInfo: info },
});

export function inboundRoutes(pathPrefix: string, deps: InboundRouteDeps): InboundRoute[] {
  const base = escapeRegExp(`${pathPrefix}${OICP_API_PREFIX}`);
  const authorization = deps.authorization;
  return [
    ...(authorization
      ? [
          {
            operation: "AuthorizeStart",
            pattern: new RegExp(`^${base}/charging/v21/operators/([^/]+)/authorize/start$`),
            handle: authorizeStartHandler(authorization),
            unreadable: notAuthorized,
          },
          {
            operation: "AuthorizeStop",
            pattern: new RegExp(`^${base}/charging/v21/operators/([^/]+)/authorize/stop$`),
            handle: authorizeStopHandler(authorization),
            unreadable: notAuthorized,
          },
        ]
      : []),
    {
      operation: "ChargingNotification",
      pattern: new RegExp(`^${base}/notificationmgmt/v11/charging-notifications$`),
      handle: chargingNotificationHandler(deps),
    },
    {
      operation: "ChargeDetailRecord",
      // The CPO OAS says Hubject appends cdrmgmt/v21, the spec snippet v22: serve both (docs/oicp.md#e15).
      pattern: new RegExp(`^${base}/cdrmgmt/v2[12]/operators/([^/]+)/charge-detail-record$`),
      handle: chargeDetailRecordHandler(deps),
    },
  ];
}

/** The route for a path and the OperatorID it names, or null. */
export function matchRoute(routes: readonly InboundRoute[], path: string): { route: InboundRoute; operatorId: string | null } | null {
  for (const route of routes) {
    const match = route.pattern.exec(path);
    if (match) return { route, operatorId: match[1] === undefined ? null : safeDecode(match[1]) };
  }
  return null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
