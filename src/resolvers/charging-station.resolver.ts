// Thin: reads the search arguments, calls the catalogue's search, shapes the page. Out-of-range
// arguments are BAD_USER_INPUT naming the argument. Also the catalogue's fields of Evse and
// the evseStatusChanged subscription.
import DataLoader from "dataloader";
import { Arg, Ctx, FieldResolver, Float, ID, Int, Query, Resolver, Root, type SubscribeResolverData, Subscription } from "type-graphql";
import type { CatalogueEntry, EvseStatusChange } from "../catalogue/catalogue.js";
import { SearchArgumentError, searchStations } from "../catalogue/search.js";
import { badInput } from "../errors.js";
import { isEvseId } from "../oicp/wire/identifiers.js";
import {
  ChargingFacilityInfo,
  ChargingStationConnection,
  ChargingStationFilter,
  EvseStation,
  EvseStatusChanged,
  GeoPointInput,
  type StationEvse,
} from "../schema/charging-station.type.js";
import { Evse, evseStatusFromOicp } from "../schema/evse.type.js";
import { type GatewayContext, requireDriver } from "../server/context.js";

/** evseStatusChanged watches at most this many EVSEs (an app's screen, not the catalogue). */
export const MAX_WATCHED_EVSES = 100;

function catalogueOf(ctx: GatewayContext): NonNullable<GatewayContext["catalogue"]> {
  if (!ctx.catalogue) throw new Error("the EVSE catalogue is not wired into the context");
  return ctx.catalogue;
}

export function toStationEvse(evse: CatalogueEntry, now: number): StationEvse {
  return {
    id: evse.evseId,
    plugs: evse.plugs,
    maxPowerKw: evse.maxPowerKw,
    facilities: evse.facilities,
    paymentOptions: evse.paymentOptions,
    isHubjectCompatible: evse.isHubjectCompatible,
    status: evse.status ? evseStatusFromOicp(evse.status.status) : null,
    statusObservedAt: evse.status?.observedAt ?? null,
    statusAgeSeconds: evse.status ? Math.max(0, Math.round((now - evse.status.observedAt.getTime()) / 1000)) : null,
  };
}

@Resolver()
export class ChargingStationResolver {
  @Query(() => ChargingStationConnection, { description: "Charging stations within radiusKm of a point, nearest first." })
  async chargingStations(
    @Arg("near", () => GeoPointInput) near: GeoPointInput,
    @Arg("radiusKm", () => Float) radiusKm: number,
    @Ctx() ctx: GatewayContext,
    @Arg("filter", () => ChargingStationFilter, { nullable: true }) filter?: ChargingStationFilter | null,
    @Arg("first", () => Int, { nullable: true }) first?: number | null,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ): Promise<ChargingStationConnection> {
    requireDriver(ctx);
    try {
      const page = await searchStations(catalogueOf(ctx).store, {
        near: { latitude: near.latitude, longitude: near.longitude },
        radiusKm,
        filter: filter ?? null,
        first: first ?? null,
        after: after ?? null,
      });
      const now = Date.now();
      return {
        nodes: page.stations.map((station) => ({ ...station, evses: station.evses.map((evse) => toStationEvse(evse, now)) })),
        pageInfo: { endCursor: page.endCursor, hasNextPage: page.hasNextPage },
      };
    } catch (error) {
      if (error instanceof SearchArgumentError) throw badInput(error.message, error.argument);
      throw error;
    }
  }

  @Subscription(() => EvseStatusChanged, {
    description: `Every status change of the EVSEs named (at most ${MAX_WATCHED_EVSES}).`,
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { evseIds: string[] }, GatewayContext>) => {
      requireDriver(context);
      const ids = [...new Set(args.evseIds.map((id) => id.trim()))];
      if (ids.length === 0 || ids.length > MAX_WATCHED_EVSES) throw badInput(`Watch 1 to ${MAX_WATCHED_EVSES} charging points.`, "evseIds");
      const invalid = ids.find((id) => !isEvseId(id));
      if (invalid) throw badInput(`"${invalid}" is not a valid EVSE ID.`, "evseIds");
      const events = catalogueOf(context).events;
      if (!events) throw new Error("evseStatusChanged is not wired");
      return events.subscribe(ids);
    },
  })
  evseStatusChanged(@Root() change: EvseStatusChange, @Arg("evseIds", () => [ID]) _evseIds: string[]): EvseStatusChanged {
    return { evseId: change.evseId, status: evseStatusFromOicp(change.status), observedAt: change.observedAt };
  }
}

/** One catalogue read per request for every Evse's catalogue fields (a WeakMap on the context). */
const evseLoaders = new WeakMap<GatewayContext, DataLoader<string, CatalogueEntry | null>>();
function catalogueEntry(ctx: GatewayContext, evseId: string): Promise<CatalogueEntry | null> {
  if (!ctx.catalogue) return Promise.resolve(null);
  let loader = evseLoaders.get(ctx);
  if (!loader) {
    const store = ctx.catalogue.store;
    loader = new DataLoader<string, CatalogueEntry | null>(async (ids) => {
      const found = await store.evses(ids);
      return ids.map((id) => found.get(id) ?? null);
    });
    evseLoaders.set(ctx, loader);
  }
  return loader.load(evseId);
}

/** The catalogue's data on Evse; status and statusObservedAt stay the live read (src/evse-status). */
@Resolver(() => Evse)
export class EvseCatalogueFieldsResolver {
  @FieldResolver(() => EvseStation, { nullable: true, description: "The station this EVSE belongs to (null: not in the catalogue)." })
  async station(@Root() evse: Evse, @Ctx() ctx: GatewayContext): Promise<EvseStation | null> {
    const entry = await catalogueEntry(ctx, evse.id);
    return (
      entry && {
        id: entry.stationId,
        name: entry.stationName,
        operatorId: entry.operatorId,
        operatorName: entry.operatorName,
        address: entry.address,
        latitude: entry.latitude,
        longitude: entry.longitude,
        accessibility: entry.accessibility,
        isOpen24Hours: entry.isOpen24Hours,
        openingTimes: entry.openingTimes,
        authenticationModes: entry.authenticationModes,
      }
    );
  }

  @FieldResolver(() => [String], { nullable: true })
  async plugs(@Root() evse: Evse, @Ctx() ctx: GatewayContext): Promise<string[] | null> {
    return (await catalogueEntry(ctx, evse.id))?.plugs ?? null;
  }

  @FieldResolver(() => Float, { nullable: true, description: "The largest facility's power, kW." })
  async maxPowerKw(@Root() evse: Evse, @Ctx() ctx: GatewayContext): Promise<number | null> {
    return (await catalogueEntry(ctx, evse.id))?.maxPowerKw ?? null;
  }

  @FieldResolver(() => [ChargingFacilityInfo], { nullable: true })
  async facilities(@Root() evse: Evse, @Ctx() ctx: GatewayContext): Promise<ChargingFacilityInfo[] | null> {
    return (await catalogueEntry(ctx, evse.id))?.facilities ?? null;
  }

  @FieldResolver(() => [String], { nullable: true })
  async paymentOptions(@Root() evse: Evse, @Ctx() ctx: GatewayContext): Promise<string[] | null> {
    return (await catalogueEntry(ctx, evse.id))?.paymentOptions ?? null;
  }

  @FieldResolver(() => Boolean, { nullable: true })
  async isHubjectCompatible(@Root() evse: Evse, @Ctx() ctx: GatewayContext): Promise<boolean | null> {
    return (await catalogueEntry(ctx, evse.id))?.isHubjectCompatible ?? null;
  }
}
