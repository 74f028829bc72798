import { Field, ID, InputType, ObjectType } from "type-graphql";
import { ChargingError } from "./charging-error.type.js";
import { ChargingSession } from "./charging-session.type.js";

@InputType()
export class StartChargingInput {
  @Field(() => String, { description: "The charging point, e.g. DE*ABC*E1234*1." })
  evseId!: string;

  @Field(() => String, { nullable: true, description: "The contract to charge with; optional when the driver holds exactly one." })
  evcoId?: string | null;

  @Field(() => String, { nullable: true, description: 'Tariff product, e.g. "AC3" (at most 50 characters).' })
  partnerProductId?: string | null;

  @Field(() => String, {
    nullable: true,
    description: "Repeating a request with the same key returns the first result and starts nothing new.",
  })
  idempotencyKey?: string | null;
}

@InputType()
export class StopChargingInput {
  @Field(() => ID)
  sessionId!: string;

  @Field(() => String, { nullable: true })
  idempotencyKey?: string | null;
}

@ObjectType()
export class StartChargingPayload {
  @Field(() => ChargingSession, { nullable: true })
  session!: ChargingSession | null;

  @Field(() => ChargingError, {
    nullable: true,
    description: "Set when the start did not go through (the session, if any, says how far it got).",
  })
  error!: ChargingError | null;
}

@ObjectType()
export class StopChargingPayload {
  @Field(() => ChargingSession, { nullable: true })
  session!: ChargingSession | null;

  @Field(() => ChargingError, { nullable: true })
  error!: ChargingError | null;
}
