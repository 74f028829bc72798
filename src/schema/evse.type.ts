import { Directive, Field, ObjectType, registerEnumType } from "type-graphql";
import type { OicpEvseStatus } from "../oicp/wire/types.js";

export const EVSE_STATUS_VALUES = {
  AVAILABLE: "AVAILABLE",
  RESERVED: "RESERVED",
  OCCUPIED: "OCCUPIED",
  OUT_OF_SERVICE: "OUT_OF_SERVICE",
  NOT_FOUND: "NOT_FOUND",
  UNKNOWN: "UNKNOWN",
} as const;
export type EvseStatus = keyof typeof EVSE_STATUS_VALUES;
registerEnumType(EVSE_STATUS_VALUES, {
  name: "EvseStatus",
  description: "Live status of a charging point, from Hubject's PullEvseStatusById.",
});

const FROM_OICP: Record<OicpEvseStatus, EvseStatus> = {
  Available: "AVAILABLE",
  Reserved: "RESERVED",
  Occupied: "OCCUPIED",
  OutOfService: "OUT_OF_SERVICE",
  EvseNotFound: "NOT_FOUND",
  Unknown: "UNKNOWN",
};
export const evseStatusFromOicp = (status: OicpEvseStatus): EvseStatus => FROM_OICP[status] ?? "UNKNOWN";

// A federation entity keyed by the EvseID: a location or tariff subgraph can point at an EVSE and
// the router asks here for its live status (batched into PullEvseStatusById, entity-references.ts).
@ObjectType({ description: "A charging point (EVSE) reachable through Hubject." })
@Directive('@key(fields: "id")')
export class Evse {
  @Field(() => String, { description: "The EvseID, exactly as Hubject knows it." })
  id!: string;

  @Field(() => EVSE_STATUS_VALUES)
  status!: EvseStatus;

  @Field(() => Date, {
    description:
      "When Hubject gave the gateway this status. Statuses are shared between apps for a few seconds, and while Hubject cannot be asked an older one is shown: compare with the current time to tell its age.",
  })
  statusObservedAt!: Date;
}
