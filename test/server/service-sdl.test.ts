// Federation's Query._service { sdl } is the whole schema: it follows the introspection setting.
import { afterEach, expect, it } from "vitest";
import { driver, startTestGateway, type TestGateway } from "../support/gateway.js";

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

it("refuses _service when introspection is off", async () => {
  gw = await startTestGateway({ env: { INTROSPECTION_ENABLED: "false", SANDBOX_ENABLED: "false" } });
  const alice = await driver("alice", ["DE-GQL-C00000001-7"]);
  const { body } = await gw.graphql(`{ _service { sdl } }`, {}, alice.token);
  expect(body.errors[0].extensions.code).toBe("GRAPHQL_VALIDATION_FAILED");
  expect(JSON.stringify(body)).not.toContain("ChargingSession");
});

it("serves _service when introspection is on (development, or a router that composes from it)", async () => {
  gw = await startTestGateway({ env: { INTROSPECTION_ENABLED: "true" } });
  const { body } = await gw.graphql(`{ _service { sdl } }`, {}, null);
  expect(body.data._service.sdl).toMatch(/type ChargingSession\s+@key/);
});
