import { Arg, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import { badInput } from "../errors.js";
import {
  type Identification as Domain,
  effectiveStatus,
  type IdentificationInput,
  type IdentificationStatus,
  maskUid,
} from "../identifications/identification.js";
import { type RegistrationOutcome, RegistryError } from "../identifications/registry.js";
import {
  BlockIdentificationPayload,
  Identification,
  IdentificationConnection,
  type IdentificationError,
  type IdentificationProblem,
  IdentificationStatusEnum,
  RegisterIdentificationInput,
  RegisterIdentificationPayload,
  SetIdentificationStatusPayload,
} from "../schema/identification.type.js";
import { type GatewayContext, isOperator, requireDriver, requireOperator } from "../server/context.js";

/** The store's page limit (ports.ts IdentificationPageQuery.first). */
export const MAX_IDENTIFICATIONS_PAGE = 500;

/** The registry names fields as the import's CSV columns do; the GraphQL input names them in camelCase. */
const INPUT_FIELD: Record<string, string> = {
  driver: "driverId",
  evco_id: "evcoId",
  rfid_type: "rfidType",
  printed_number: "printedNumber",
  expires_at: "expiresAt",
  pin_hash: "pinHash",
  "uid/evco_id": "uid/evcoId",
};

/** "evco_id: not an EvcoID …" -> { field: "evcoId", message: "evcoId: not an EvcoID …" }. The registry's messages never hold a PIN. */
function toProblem(problem: string): IdentificationProblem {
  const colon = problem.indexOf(": ");
  if (colon < 0) return { field: "input", message: problem };
  const column = problem.slice(0, colon);
  const field = INPUT_FIELD[column] ?? column;
  return { field, message: `${field}${problem.slice(colon)}` };
}

function invalid(problems: readonly string[]): IdentificationError {
  const listed = problems.map(toProblem);
  return {
    code: "INVALID_INPUT",
    message: `The identification was not registered: ${listed.map((p) => p.message).join("; ")}.`,
    problems: listed,
    retryable: false,
  };
}

/** The registry's refusals as payload errors; anything else is unexpected and thrown on. */
async function changed(change: () => Promise<Domain>): Promise<{ identification: Domain | null; error: IdentificationError | null }> {
  try {
    return { identification: await change(), error: null };
  } catch (error) {
    if (!(error instanceof RegistryError)) throw error;
    const code = error.reason === "FORBIDDEN" ? "NOT_ALLOWED" : error.reason;
    return { identification: null, error: { code, message: error.message, problems: [], retryable: code === "CONFLICT" } };
  }
}

const cursorOf = (identification: Domain): string => Buffer.from(`identification:${identification.id}`, "utf8").toString("base64url");

function afterId(cursor: string): string {
  const decoded = Buffer.from(cursor, "base64url").toString("utf8");
  if (!decoded.startsWith("identification:") || Buffer.from(decoded, "utf8").toString("base64url") !== cursor) {
    throw badInput("This cursor is not valid: use an endCursor from a previous page.", "after");
  }
  return decoded.slice("identification:".length);
}

function registrationPayload(outcome: RegistrationOutcome | undefined) {
  if (!outcome) throw new Error("the registry returned no outcome for the registration");
  if (!outcome.ok) return { identification: null, change: null, error: invalid(outcome.problems) };
  return { identification: outcome.identification, change: outcome.change.toUpperCase(), error: null };
}

function toInput(input: RegisterIdentificationInput): IdentificationInput {
  return {
    driverId: input.driverId,
    evcoId: input.evcoId,
    type: input.type,
    uid: input.uid ?? null,
    rfidType: input.rfidType ?? null,
    printedNumber: input.printedNumber ?? null,
    expiresAt: input.expiresAt ?? null,
    pin: input.pin ?? null,
    pinHash: input.pinHash ?? null,
    ...(input.status ? { status: input.status } : {}),
  };
}

@Resolver(() => Identification)
export class IdentificationResolver {
  @Query(() => [Identification], { description: "Your cards, QR codes and cars, in id order." })
  async myIdentifications(@Ctx() ctx: GatewayContext): Promise<Domain[]> {
    const driver = requireDriver(ctx);
    const all: Domain[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await ctx.identifications.list({ driverId: driver.id, first: MAX_IDENTIFICATIONS_PAGE, ...(after ? { after } : {}) });
      all.push(...page.identifications);
      after = page.identifications.at(-1)?.id;
      if (!page.hasNextPage || after === undefined) return all;
    }
  }

  @Mutation(() => BlockIdentificationPayload, {
    description: "Blocks one of your identifications (a lost card): every charger refuses it from now on. Only the EMP can unblock it.",
  })
  async blockIdentification(@Arg("id", () => ID) id: string, @Ctx() ctx: GatewayContext) {
    const driver = requireDriver(ctx);
    return changed(() => ctx.identifications.block(id, { driverId: driver.id, role: "DRIVER" }));
  }

  @Query(() => IdentificationConnection, { description: "Operators: every driver's identifications (or one driver's), in id order." })
  async identifications(
    @Ctx() ctx: GatewayContext,
    @Arg("driverId", () => String, { nullable: true }) driverId?: string | null,
    @Arg("first", () => Int, { defaultValue: 50, description: `1 to ${MAX_IDENTIFICATIONS_PAGE}.` }) first = 50,
    @Arg("after", () => String, { nullable: true }) after?: string | null,
  ) {
    requireOperator(ctx);
    if (!Number.isInteger(first) || first < 1 || first > MAX_IDENTIFICATIONS_PAGE) {
      throw badInput(`first must be between 1 and ${MAX_IDENTIFICATIONS_PAGE}.`, "first");
    }
    const { identifications, hasNextPage } = await ctx.identifications.list({
      first,
      ...(driverId ? { driverId } : {}),
      ...(after ? { after: afterId(after) } : {}),
    });
    const last = identifications.at(-1);
    return {
      edges: identifications.map((node) => ({ cursor: cursorOf(node), node })),
      nodes: identifications,
      pageInfo: { hasNextPage, endCursor: last ? cursorOf(last) : null },
    };
  }

  @Mutation(() => RegisterIdentificationPayload, {
    description: "Operators: registers an identification, or updates the one with the same credential. Idempotent.",
  })
  async registerIdentification(
    @Arg("input", () => RegisterIdentificationInput) input: RegisterIdentificationInput,
    @Ctx() ctx: GatewayContext,
  ) {
    requireOperator(ctx);
    const [outcome] = await ctx.identifications.register([toInput(input)]);
    return registrationPayload(outcome);
  }

  @Mutation(() => SetIdentificationStatusPayload, {
    description: "Operators: blocks, unblocks (ACTIVE) or expires an identification, effective at once on every replica.",
  })
  async setIdentificationStatus(
    @Arg("id", () => ID) id: string,
    @Arg("status", () => IdentificationStatusEnum) status: IdentificationStatus,
    @Ctx() ctx: GatewayContext,
  ) {
    const operator = requireOperator(ctx);
    return changed(() => ctx.identifications.setStatus(id, status, { driverId: operator.id, role: "OPERATOR" }));
  }

  @FieldResolver(() => IdentificationStatusEnum, {
    description: "As an authorization would decide now: ACTIVE past its expiry is EXPIRED.",
  })
  status(@Root() identification: Domain): IdentificationStatus {
    return effectiveStatus(identification, new Date());
  }

  @FieldResolver(() => String, {
    nullable: true,
    description: 'RFID types: the card\'s UID. Shortened to its last four digits ("…1A2B") except for operators.',
  })
  uid(@Root() identification: Domain, @Ctx() ctx: GatewayContext): string | null {
    return isOperator(ctx) ? identification.uid : maskUid(identification.uid);
  }

  @FieldResolver(() => Boolean, { description: "QR_CODE: whether a PIN is set. The PIN and its hash are never shown." })
  hasPin(@Root() identification: Domain): boolean {
    return identification.pinHash !== null;
  }
}
