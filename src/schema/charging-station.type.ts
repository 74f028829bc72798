// Charging stations from the EVSE catalogue (src/catalogue): what Query.chargingStations answers.
import { Field, Float, InputType, ObjectType } from "type-graphql";
import { PageInfo } from "./connection.type.js";
import { EVSE_STATUS_VALUES, type EvseStatus } from "./evse.type.js";

@InputType({ description: "A point on earth, WGS 84 decimal degrees." })
export class GeoPointInput {
  @Field(() => Float)
  latitude!: number;

  @Field(() => Float)
  longitude!: number;
}

@InputType({ description: "Every condition given must hold; a list matches when any of its values does." })
export class ChargingStationFilter {
  @Field(() => [String], { nullable: true, description: 'OICP plug names, e.g. "CCS Combo 2 Plug (Cable Attached)", "Type 2 Outlet".' })
  plugs?: string[] | null;

  @Field(() => Float, { nullable: true })
  minPowerKw?: number | null;

  @Field(() => Boolean, { nullable: true, description: "Only EVSEs whose last known status is AVAILABLE." })
  onlyAvailable?: boolean | null;

  @Field(() => [String], { nullable: true })
  operatorIds?: string[] | null;

  @Field(() => [String], { nullable: true, description: "OICP authentication modes, e.g. REMOTE (an app can start it)." })
  authenticationModes?: string[] | null;

  @Field(() => [String], { nullable: true, description: 'OICP payment options: "No Payment", Direct, Contract.' })
  paymentOptions?: string[] | null;
}

@ObjectType()
export class StationAddress {
  @Field(() => String, { description: "ISO 3166 alpha-3, e.g. DEU." })
  country!: string;
  @Field(() => String)
  city!: string;
  @Field(() => String)
  street!: string;
  @Field(() => String)
  postalCode!: string;
  @Field(() => String)
  houseNum!: string;
}

@ObjectType()
export class OpeningPeriod {
  @Field(() => String, { description: "hh:mm" })
  begin!: string;
  @Field(() => String, { description: "hh:mm" })
  end!: string;
}

@ObjectType({ description: "Opening times as OICP sends them (docs/oicp.md#e14)." })
export class OpeningTimes {
  @Field(() => String, { description: "Everyday, Workdays, Weekend, Monday … Sunday." })
  on!: string;
  @Field(() => [OpeningPeriod])
  periods!: OpeningPeriod[];
}

@ObjectType()
export class ChargingFacilityInfo {
  @Field(() => String, { description: "AC_1_PHASE, AC_3_PHASE, DC (or what the operator sent)." })
  powerType!: string;
  @Field(() => Float)
  powerKw!: number;
}

@ObjectType({ description: "A charging point of a station, from the catalogue." })
export class StationEvse {
  @Field(() => String)
  id!: string;
  @Field(() => [String])
  plugs!: string[];
  @Field(() => Float, { description: "The largest facility's power, kW." })
  maxPowerKw!: number;
  @Field(() => [ChargingFacilityInfo])
  facilities!: ChargingFacilityInfo[];
  @Field(() => [String])
  paymentOptions!: string[];
  @Field(() => Boolean)
  isHubjectCompatible!: boolean;
  @Field(() => EVSE_STATUS_VALUES, { nullable: true, description: "The last status the catalogue's pulls saw; null before the first." })
  status!: EvseStatus | null;
  @Field(() => Date, { nullable: true })
  statusObservedAt!: Date | null;
  @Field(() => Float, { nullable: true, description: "Seconds since statusObservedAt, when the answer was made." })
  statusAgeSeconds!: number | null;
}

@ObjectType({ description: "The station of an Evse, from the catalogue." })
export class EvseStation {
  @Field(() => String)
  id!: string;
  @Field(() => String)
  name!: string;
  @Field(() => String)
  operatorId!: string;
  @Field(() => String)
  operatorName!: string;
  @Field(() => StationAddress)
  address!: StationAddress;
  @Field(() => Float)
  latitude!: number;
  @Field(() => Float)
  longitude!: number;
  @Field(() => String)
  accessibility!: string;
  @Field(() => Boolean)
  isOpen24Hours!: boolean;
  @Field(() => [OpeningTimes])
  openingTimes!: OpeningTimes[];
  @Field(() => [String])
  authenticationModes!: string[];
}

@ObjectType({ description: "A charging station: EVSEs at one place of one operator." })
export class ChargingStation {
  @Field(() => String)
  id!: string;
  @Field(() => String)
  name!: string;
  @Field(() => String)
  operatorId!: string;
  @Field(() => String)
  operatorName!: string;
  @Field(() => StationAddress)
  address!: StationAddress;
  @Field(() => Float)
  latitude!: number;
  @Field(() => Float)
  longitude!: number;
  @Field(() => String)
  accessibility!: string;
  @Field(() => Boolean)
  isOpen24Hours!: boolean;
  @Field(() => [OpeningTimes])
  openingTimes!: OpeningTimes[];
  @Field(() => [String])
  authenticationModes!: string[];
  @Field(() => Float, { description: "From the point searched, km." })
  distanceKm!: number;
  @Field(() => [StationEvse])
  evses!: StationEvse[];
}

@ObjectType({ description: "Charging stations, nearest first." })
export class ChargingStationConnection {
  @Field(() => [ChargingStation])
  nodes!: ChargingStation[];
  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}

@ObjectType({ description: "An EVSE's new status (Subscription.evseStatusChanged)." })
export class EvseStatusChanged {
  @Field(() => String)
  evseId!: string;
  @Field(() => EVSE_STATUS_VALUES)
  status!: EvseStatus;
  @Field(() => Date)
  observedAt!: Date;
}
