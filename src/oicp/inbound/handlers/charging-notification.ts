// eRoamingChargingNotifications v1.1 (docs/oicp.md#notifications): Start, Progress, End, Error.
import type { InboundHandler } from "../handler.js";
import { type SessionMessageDeps, sessionMessageHandler } from "./session-message.js";

export const chargingNotificationHandler = (deps: SessionMessageDeps): InboundHandler => sessionMessageHandler("NOTIFICATION", deps);
