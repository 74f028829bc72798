// eRoamingChargeDetailRecord v2.2 (docs/oicp.md#cdr): the billable record. Acknowledged once stored,
// even for a session not known yet: Hubject takes only one CDR per SessionID (docs/oicp.md#inbound).
import type { InboundHandler } from "../handler.js";
import { type SessionMessageDeps, sessionMessageHandler } from "./session-message.js";

export const chargeDetailRecordHandler = (deps: SessionMessageDeps): InboundHandler => sessionMessageHandler("CDR", deps);
