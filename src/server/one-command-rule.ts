// At most one charging command per document. Each startCharging or stopCharging becomes a remote
// start or stop at Hubject, and those are never retried and never undone: a document with fifteen
// aliased starts made ten remote starts before the per-driver rate limit answered 429 with
// data: null, so the driver saw nothing of the sessions that did start. Refused at validation,
// before anything executes, on HTTP (Apollo's validationRules) and graphql-ws (armor.ts checkDocument).
import { type FieldNode, GraphQLError, type ValidationRule } from "graphql";

/** The Mutation fields that reach a charger. */
export const CHARGING_COMMANDS: ReadonlySet<string> = new Set(["startCharging", "stopCharging"]);

/**
 * Counts every startCharging/stopCharging field on the Mutation type in the document: aliases,
 * fragments and inline fragments alike (graphql-js's TypeInfo gives a fragment's fields their
 * parent type). A field merged with an identical one still counts: one command, one field.
 */
export const OneChargingCommandRule: ValidationRule = (context) => {
  const mutation = context.getSchema().getMutationType();
  const commands: FieldNode[] = [];
  return {
    Field(node) {
      if (mutation && context.getParentType() === mutation && CHARGING_COMMANDS.has(node.name.value)) commands.push(node);
    },
    Document: {
      leave() {
        if (commands.length <= 1) return;
        context.reportError(
          new GraphQLError(
            `At most one startCharging or stopCharging per request; this one has ${commands.length}. Send each charging command in a request of its own.`,
            { nodes: commands },
          ),
        );
      },
    },
  };
};
