// checkDocument (the websocket path's parse + validate with the limits): a valid document is
// parsed once and shared; anything refused is refused every time.
import { describe, expect, it } from "vitest";
import { DEFAULTS } from "../../src/config/defaults.js";
import { buildGatewaySchema } from "../../src/schema/build-schema.js";
import { createDocumentLimits } from "../../src/server/armor.js";

const schema = await buildGatewaySchema();

describe("createDocumentLimits().checkDocument", () => {
  const limits = createDocumentLimits(schema, DEFAULTS.graphqlLimits, { introspection: false });

  it("parses and validates a document once, then hands out the same AST", () => {
    const query = "subscription { sessionUpdated { id status consumedEnergyKwh } }";
    const first = limits.checkDocument(query);
    const second = limits.checkDocument(query);
    expect("document" in first && "document" in second).toBe(true);
    if ("document" in first && "document" in second) expect(second.document).toBe(first.document);
    // A different text is another document.
    const other = limits.checkDocument("subscription { sessionUpdated { id } }");
    expect("document" in other && "document" in first && other.document !== first.document).toBe(true);
  });

  it("refuses bad documents every time, with their codes", () => {
    for (let i = 0; i < 2; i++) {
      expect(limits.checkDocument("subscription {")).toMatchObject({ errors: [{ extensions: { code: "GRAPHQL_PARSE_FAILED" } }] });
      expect(limits.checkDocument("{ __schema { queryType { name } } }")).toMatchObject({
        errors: [{ extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }, { extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }],
      });
      expect(limits.checkDocument("{ nope }")).toMatchObject({ errors: [{ extensions: { code: "GRAPHQL_VALIDATION_FAILED" } }] });
    }
  });
});
