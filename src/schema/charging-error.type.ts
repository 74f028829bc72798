import { Field, ObjectType, registerEnumType } from "type-graphql";
import { CHARGING_ERROR_CODES, type ChargingErrorCode } from "../oicp/wire/status-codes.js";

const codeValues = Object.fromEntries(CHARGING_ERROR_CODES.map((c) => [c, c])) as { [K in ChargingErrorCode]: K };
registerEnumType(codeValues, {
  name: "ChargingErrorCode",
  description: "Why a start or stop did not go through. The mapping from OICP codes is in README.md.",
});

@ObjectType({ description: "An expected outcome that is not a success: Hubject or the charging operator refused, or did not answer." })
export class ChargingError {
  @Field(() => codeValues)
  code!: ChargingErrorCode;

  @Field(() => String, { description: "A sentence the driver can read." })
  message!: string;

  @Field(() => String, { nullable: true, description: 'The OICP status code it came from, e.g. "603".' })
  oicpStatusCode!: string | null;

  @Field(() => Boolean, { description: "Whether trying the same request again later can succeed." })
  retryable!: boolean;
}
