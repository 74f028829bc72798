import { Ctx, FieldResolver, Resolver, Root } from "type-graphql";
import { formatAtOffset } from "../oicp/wire/datetime.js";
import { ChargeDetailRecord } from "../schema/charge-detail-record.type.js";
import { ChargingSession } from "../schema/charging-session.type.js";
import { Evse } from "../schema/evse.type.js";
import { DecimalScalar } from "../schema/figures.type.js";
import type { GatewayContext } from "../server/context.js";
import {
  type ChargeDetailRecord as Cdr,
  type ChargerOffsets,
  type ChargerTimeField,
  isStale,
  type ChargingSession as Session,
} from "../sessions/session.js";
import { loadEvse } from "./evse-status.js";

/** The instant as the charger showed it, when the charger sent its offset. */
function local(at: Date | null, offsets: ChargerOffsets, field: ChargerTimeField): string | null {
  const offset = offsets[field];
  return at === null || offset === undefined || offset === null ? null : formatAtOffset(at, offset);
}

/** Fields computed per read; the parent is the domain session as the service returns it. */
@Resolver(() => ChargingSession)
export class ChargingSessionFieldsResolver {
  @FieldResolver(() => Evse, { nullable: true })
  async evse(@Root() session: Session, @Ctx() ctx: GatewayContext): Promise<Evse> {
    return loadEvse(ctx, session.evseId);
  }

  @FieldResolver(() => Boolean)
  stale(@Root() session: Session, @Ctx() ctx: GatewayContext): boolean {
    return isStale(session, new Date(), ctx.staleAfterMs);
  }

  @FieldResolver(() => DecimalScalar, { nullable: true })
  consumedEnergyKwhDecimal(@Root() session: Session): string | null {
    return session.consumedEnergyKwh;
  }

  @FieldResolver(() => String, { nullable: true })
  chargingStartedAtLocal(@Root() s: Session): string | null {
    return local(s.chargingStartedAt, s.offsets, "chargingStart");
  }

  @FieldResolver(() => String, { nullable: true })
  chargingEndedAtLocal(@Root() s: Session): string | null {
    return local(s.chargingEndedAt, s.offsets, "chargingEnd");
  }

  @FieldResolver(() => String, { nullable: true })
  sessionStartedAtLocal(@Root() s: Session): string | null {
    return local(s.sessionStartedAt, s.offsets, "sessionStart");
  }

  @FieldResolver(() => String, { nullable: true })
  sessionEndedAtLocal(@Root() s: Session): string | null {
    return local(s.sessionEndedAt, s.offsets, "sessionEnd");
  }
}

/** The exact decimals and local times of a charge detail record. */
@Resolver(() => ChargeDetailRecord)
export class ChargeDetailRecordFieldsResolver {
  @FieldResolver(() => DecimalScalar, { nullable: true })
  consumedEnergyKwhDecimal(@Root() cdr: Cdr): string | null {
    return cdr.consumedEnergyKwh;
  }

  @FieldResolver(() => DecimalScalar, { nullable: true })
  meterValueStartDecimal(@Root() cdr: Cdr): string | null {
    return cdr.meterValueStart;
  }

  @FieldResolver(() => DecimalScalar, { nullable: true })
  meterValueEndDecimal(@Root() cdr: Cdr): string | null {
    return cdr.meterValueEnd;
  }

  @FieldResolver(() => String, { nullable: true })
  sessionStartLocal(@Root() cdr: Cdr): string | null {
    return local(cdr.sessionStart, cdr.offsets, "sessionStart");
  }

  @FieldResolver(() => String, { nullable: true })
  sessionEndLocal(@Root() cdr: Cdr): string | null {
    return local(cdr.sessionEnd, cdr.offsets, "sessionEnd");
  }

  @FieldResolver(() => String, { nullable: true })
  chargingStartLocal(@Root() cdr: Cdr): string | null {
    return local(cdr.chargingStart, cdr.offsets, "chargingStart");
  }

  @FieldResolver(() => String, { nullable: true })
  chargingEndLocal(@Root() cdr: Cdr): string | null {
    return local(cdr.chargingEnd, cdr.offsets, "chargingEnd");
  }
}
