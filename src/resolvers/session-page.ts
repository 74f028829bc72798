import { badInput } from "../errors.js";
import type { GatewayContext } from "../server/context.js";
import type { ChargingSession, Driver } from "../sessions/session.js";
import { decodeCursor, encodeCursor } from "./cursor.js";

export const MAX_PAGE = 100;

export interface SessionPageArgs {
  first: number;
  after?: string | null | undefined;
  active?: boolean | null | undefined;
}

/** One page of a driver's sessions as a connection: Query.chargingSessions and Driver.chargingSessions share it. */
export async function sessionPage(ctx: GatewayContext, driver: Driver, { first, after, active }: SessionPageArgs) {
  if (first < 1 || first > MAX_PAGE) throw badInput(`first must be between 1 and ${MAX_PAGE}.`, "first");
  const { sessions, hasNextPage } = await ctx.sessions.listForDriver(driver, {
    first,
    after: after ? decodeCursor(after) : undefined,
    active: active ?? undefined,
  });
  const last = sessions.at(-1);
  // Edges and their cursors are made only if the query selects them (most apps read nodes).
  return {
    get edges() {
      return sessions.map((node) => new SessionEdge(node));
    },
    nodes: sessions,
    pageInfo: { hasNextPage, endCursor: last ? encodeCursor(last) : null },
  };
}

class SessionEdge {
  constructor(readonly node: ChargingSession) {}
  get cursor(): string {
    return encodeCursor(this.node);
  }
}
