// How figures reach the app: exact decimals (a Decimal scalar, serialised as a string), the
// anomalies found in what the charger sent, and the local time the charger showed.
import { GraphQLError, GraphQLScalarType, Kind } from "graphql";
import { Field, ObjectType, registerEnumType } from "type-graphql";
import type { AnomalyKind } from "../sessions/session.js";

const DECIMAL = /^-?\d+(\.\d+)?$/;

/** An exact decimal number as a string ("21.343"): energy, meter values and money never pass through a binary float. */
export const DecimalScalar = new GraphQLScalarType<string, string>({
  name: "Decimal",
  description:
    'An exact decimal number, serialised as a string: "21.343". Energy in kWh and money are never rounded by a float on the way.',
  serialize(value) {
    const text = typeof value === "string" ? value : String(value);
    if (!DECIMAL.test(text)) throw new GraphQLError(`Decimal cannot represent ${JSON.stringify(value)}`);
    return text;
  },
  parseValue(value) {
    if (typeof value !== "string" || !DECIMAL.test(value.trim())) throw new GraphQLError('A Decimal is a string such as "21.343"');
    return value.trim();
  },
  parseLiteral(ast) {
    if (ast.kind !== Kind.STRING || !DECIMAL.test(ast.value.trim())) throw new GraphQLError('A Decimal is a string such as "21.343"');
    return ast.value.trim();
  },
});

const anomalyKinds = {
  MISSING: "MISSING",
  REPAIRED: "REPAIRED",
  NO_OFFSET: "NO_OFFSET",
  IMPLAUSIBLE: "IMPLAUSIBLE",
} as const satisfies Record<AnomalyKind, AnomalyKind>;
registerEnumType(anomalyKinds, {
  name: "AnomalyKind",
  description: "What was wrong with a figure the charger sent.",
  valuesConfig: {
    MISSING: { description: "Not sent (or not readable): the figure is empty." },
    REPAIRED: { description: "Sent in a form OICP does not allow (a decimal comma, a number in a string, …) and read anyway." },
    NO_OFFSET: { description: "A time sent without its UTC offset: read as UTC." },
    IMPLAUSIBLE: {
      description:
        "Cannot be true (negative energy, an end before its start, a meter running backwards, a time far in the future): left out, never shown as fact.",
    },
  },
});

@ObjectType({ description: "Something about a figure of Hubject's messages that the driver or support should know." })
export class FigureAnomaly {
  @Field(() => String, { description: 'The OICP field, e.g. "ConsumedEnergy", "ChargingStart".' })
  field!: string;

  @Field(() => anomalyKinds)
  kind!: AnomalyKind;

  @Field(() => String)
  detail!: string;
}
