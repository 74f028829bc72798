import { Directive, Field, Float, ID, Int, ObjectType, registerEnumType } from "type-graphql";
import { type FiguresSource, SESSION_STATUSES, type SessionOrigin, type SessionStatus } from "../sessions/session.js";
import { ChargeDetailRecord } from "./charge-detail-record.type.js";
import { Evse } from "./evse.type.js";
import { DecimalScalar, FigureAnomaly } from "./figures.type.js";

const statusValues = Object.fromEntries(SESSION_STATUSES.map((s) => [s, s])) as { [K in SessionStatus]: K };
registerEnumType(statusValues, {
  name: "ChargingSessionStatus",
  description: "Where a session stands. It only moves forward; REJECTED, FAILED and COMPLETED are final (COMPLETED once the CDR is in).",
  valuesConfig: {
    REQUESTED: { description: "Sent to Hubject; no answer yet." },
    OUTCOME_UNKNOWN: {
      description:
        "Hubject or the charger did not confirm in time (timeout or 310). The charger may still start: the session updates when it reports.",
    },
    ACCEPTED: { description: "The charging operator accepted the start command. Energy is not flowing yet." },
    REJECTED: { description: "Refused by Hubject or the charging operator; see lastStatusCode. Final." },
    CHARGING: { description: "Energy is flowing (Start notification or a later reading)." },
    STOP_REQUESTED: { description: "The driver asked to stop; waiting for the charger." },
    CHARGING_ENDED: { description: "Energy stopped (End notification). The final figures come with the CDR." },
    COMPLETED: { description: "The charge detail record arrived: final, billable figures. Final." },
    FAILED: { description: "The charger reported an error (Error notification). Final unless a CDR still arrives." },
  },
});

const figuresValues = {
  NOTIFICATION: "NOTIFICATION",
  CHARGE_DETAIL_RECORD: "CHARGE_DETAIL_RECORD",
  EVSE_STATUS: "EVSE_STATUS",
  INFERRED: "INFERRED",
} as const satisfies Record<FiguresSource, FiguresSource>;
registerEnumType(figuresValues, { name: "FiguresSource", description: "Where a session's latest figures came from." });

const originValues = { APP: "APP", CHARGER: "CHARGER" } as const satisfies Record<SessionOrigin, SessionOrigin>;
registerEnumType(originValues, {
  name: "SessionOrigin",
  description: "How the session was started.",
  valuesConfig: {
    APP: { description: "From the app (startCharging)." },
    CHARGER: { description: "At the charger with one of the driver's contracts (RFID card, Plug&Charge); learnt from Hubject's messages." },
  },
});

@ObjectType({ description: "An OICP status code as Hubject or the charging operator returned it." })
export class OicpStatusCode {
  @Field(() => String, { description: 'Three characters, leading zeros kept: "000", "603".' })
  code!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => String, { nullable: true })
  additionalInfo!: string | null;
}

// A federation entity: other subgraphs may hold a session id and let the router fetch the session
// here (Query._entities, resolved in resolvers/entity-references.ts, only for its own driver).
@ObjectType({ description: "One charging session of the signed-in driver." })
@Directive('@key(fields: "id")')
export class ChargingSession {
  @Field(() => ID, { description: "The gateway's id; also sent to Hubject as EMPPartnerSessionID." })
  id!: string;

  @Field(() => originValues)
  origin!: SessionOrigin;

  @Field(() => String, { nullable: true, description: "Hubject's SessionID, once Hubject assigned one." })
  hubjectSessionId!: string | null;

  @Field(() => String)
  evseId!: string;

  @Field(() => String, { description: "The contract (EvcoID) this session charges to." })
  evcoId!: string;

  @Field(() => String, { nullable: true })
  partnerProductId!: string | null;

  @Field(() => statusValues)
  status!: SessionStatus;

  @Field(() => OicpStatusCode, { nullable: true, description: "The latest status code from Hubject or the operator." })
  lastStatusCode!: OicpStatusCode | null;

  @Field(() => Date)
  requestedAt!: Date;

  @Field(() => Date, { nullable: true, description: "Energy started flowing." })
  chargingStartedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "Energy stopped flowing." })
  chargingEndedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "Plug-in period start (may be before charging started)." })
  sessionStartedAt!: Date | null;

  @Field(() => Date, { nullable: true, description: "Plug-in period end (may be after charging ended)." })
  sessionEndedAt!: Date | null;

  @Field(() => Date, {
    description: "When the session last changed; never goes back. Pass the last one received as sessionUpdated(since:) when reconnecting.",
  })
  updatedAt!: Date;

  @Field(() => Int, { description: "Raised by every change: an app keeps the highest it saw per session and ignores anything not higher." })
  version!: number;

  @Field(() => Date, { nullable: true, description: "When the gateway last heard from Hubject about this session." })
  lastEventAt!: Date | null;

  @Field(() => Float, {
    nullable: true,
    description: "Energy so far in kWh, for display: from Progress/End notifications, final once the CDR is in. Never goes down.",
  })
  consumedEnergyKwh!: string | null;

  @Field(() => DecimalScalar, { nullable: true, description: "The same energy as an exact decimal (kWh)." })
  consumedEnergyKwhDecimal?: string | null;

  @Field(() => [FigureAnomaly], { description: "What was missing, repaired or impossible in the messages of this session (newest kept)." })
  anomalies!: FigureAnomaly[];

  @Field(() => String, {
    nullable: true,
    description: "chargingStartedAt as the charger showed it, with its UTC offset; null when the charger sent no offset.",
  })
  chargingStartedAtLocal?: string | null;

  @Field(() => String, { nullable: true, description: "chargingEndedAt as the charger showed it, with its UTC offset." })
  chargingEndedAtLocal?: string | null;

  @Field(() => String, { nullable: true, description: "sessionStartedAt as the charger showed it, with its UTC offset." })
  sessionStartedAtLocal?: string | null;

  @Field(() => String, { nullable: true, description: "sessionEndedAt as the charger showed it, with its UTC offset." })
  sessionEndedAtLocal?: string | null;

  @Field(() => figuresValues, { nullable: true, description: "Where the latest figures (status, energy, times) came from." })
  figuresSource!: FiguresSource | null;

  @Field(() => Boolean, {
    description:
      "True while CHARGING (or stopping) with nothing heard from the charger for a while (SESSION_STALE_AFTER_MS): the figures may be behind. Progress comes every 5 minutes at best, and some chargers send none.",
  })
  stale?: boolean;

  @Field(() => String, { nullable: true, description: 'Set when the charger reported an error: "ConnectorError" or "CriticalError".' })
  errorType!: string | null;

  @Field(() => String, { nullable: true })
  errorInfo!: string | null;

  @Field(() => ChargeDetailRecord, { nullable: true })
  chargeDetailRecord!: ChargeDetailRecord | null;

  @Field(() => Evse, { nullable: true, description: "The charging point, with its live status from Hubject." })
  evse?: Evse | null;
}
