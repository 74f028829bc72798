// The EMP's prices at an EVSE (Evse.prices) and what a session costs (ChargingSession.estimatedCost
// and cost): exact decimals with their ISO 4217 currency (docs/oicp.md#pricing).
import { Field, ObjectType } from "type-graphql";
import { DecimalScalar } from "./figures.type.js";

@ObjectType({ description: "An amount of money: an exact decimal with its ISO 4217 currency." })
export class Money {
  @Field(() => DecimalScalar, { description: 'Exact, rounded half up to cents: "12.34".' })
  amount!: string;

  @Field(() => String, { description: 'ISO 4217, e.g. "EUR".' })
  currency!: string;
}

@ObjectType({ description: "A fee on top of the base price (OICP AdditionalReference)." })
export class PriceAdditionalReference {
  @Field(() => String, { description: "START FEE, FIXED FEE, PARKING FEE, MINIMUM FEE or MAXIMUM FEE (others passed on as sent)." })
  kind!: string;

  @Field(() => String, { description: "HOUR, KILOWATT_HOUR or MINUTE." })
  unit!: string;

  @Field(() => DecimalScalar)
  pricePerUnit!: string;
}

@ObjectType({ description: "When a product applies (when validAllDay is false)." })
export class PriceAvailability {
  @Field(() => String, { description: "Everyday, Workdays, Weekend, Monday … Sunday." })
  on!: string;

  @Field(() => [String], { description: '"hh:mm-hh:mm" periods.' })
  periods!: string[];
}

@ObjectType({ description: "One of the EMP's pricing products offered at an EVSE, with its price." })
export class EvsePrice {
  @Field(() => String, { description: "The PartnerProductID to pass to startCharging." })
  productId!: string;

  @Field(() => String, { description: "HOUR, KILOWATT_HOUR or MINUTE." })
  referenceUnit!: string;

  @Field(() => DecimalScalar)
  pricePerReferenceUnit!: string;

  @Field(() => String, { description: "ISO 4217." })
  currency!: string;

  @Field(() => DecimalScalar, { description: "The product's maximum charging power, kW." })
  maximumPowerKw!: string;

  @Field(() => Boolean, { description: "True when the product applies around the clock; else see availability." })
  validAllDay!: boolean;

  @Field(() => [PriceAvailability])
  availability!: PriceAvailability[];

  @Field(() => [PriceAdditionalReference], { description: "Start, fixed, parking, minimum and maximum fees." })
  additionalReferences!: PriceAdditionalReference[];

  @Field(() => String, { description: 'The ProviderID the offer is for: ours, or "*" (offered to all EMPs).' })
  offeredTo!: string;
}
