import { Field, Float, ObjectType } from "type-graphql";
import { DecimalScalar, FigureAnomaly } from "./figures.type.js";

@ObjectType({
  description:
    "The charge detail record (CDR): the final, billable account of a session. A figure the CPO did not send, or one that cannot be true, is null and named in `anomalies`.",
})
export class ChargeDetailRecord {
  @Field(() => String)
  hubjectSessionId!: string;

  @Field(() => String)
  evseId!: string;

  @Field(() => String, { nullable: true })
  partnerProductId!: string | null;

  @Field(() => Date, { nullable: true, description: "Plug-in period start; null only when it cannot be true." })
  sessionStart!: Date | null;

  @Field(() => Date, { nullable: true })
  sessionEnd!: Date | null;

  @Field(() => Date, { nullable: true, description: "Energy started flowing; null when the CPO did not send it." })
  chargingStart!: Date | null;

  @Field(() => Date, { nullable: true })
  chargingEnd!: Date | null;

  @Field(() => Float, { nullable: true, description: "Billable energy in kWh, for display (three decimals)." })
  consumedEnergyKwh!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "Billable energy in kWh as an exact decimal: the figure to invoice." })
  consumedEnergyKwhDecimal?: string | null;

  @Field(() => Float, { nullable: true, description: "Meter reading at start, kWh." })
  meterValueStart!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "Meter reading at start, kWh, exact." })
  meterValueStartDecimal?: string | null;

  @Field(() => Float, { nullable: true, description: "Meter reading at end, kWh." })
  meterValueEnd!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "Meter reading at end, kWh, exact." })
  meterValueEndDecimal?: string | null;

  @Field(() => [FigureAnomaly], { description: "What was missing, repaired or impossible in this record." })
  anomalies!: FigureAnomaly[];

  @Field(() => String, {
    nullable: true,
    description: "sessionStart as the charger showed it, with its UTC offset; null when it sent none.",
  })
  sessionStartLocal?: string | null;

  @Field(() => String, { nullable: true })
  sessionEndLocal?: string | null;

  @Field(() => String, { nullable: true })
  chargingStartLocal?: string | null;

  @Field(() => String, { nullable: true })
  chargingEndLocal?: string | null;

  @Field(() => Date)
  receivedAt!: Date;
}
