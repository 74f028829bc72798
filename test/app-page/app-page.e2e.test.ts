// The driver's page end to end in a real browser (headless Chromium): sign in with a development
// token, choose a charging point from the simulator's catalogue, start, watch status and energy
// arrive over graphql-ws, stop, read the CDR. The gateway and its simulator run in-process; the
// page is mounted in front of it exactly as GraphQLServerOptions.extraRoutes would (support.ts).
// UPDATE_SCREENSHOTS=1 also writes the final state to docs/app-page.png.
import { mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAppPage } from "../../src/app-page/app-page.js";
import { OneSessionDocument } from "../../src/client/generated/graphql.js";
import { request } from "../../src/client/transport.js";
import { startTestGateway, TEST_JWT_SECRET, type TestGateway, tokenFor } from "../support/gateway.js";
import { type FrontServer, frontServer, launchChromium } from "./support.js";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DRIVER = "page-driver";
const EVCO = "DE-GQL-C00000001-7";
const EVSE = "DE*SIM*E0001*3"; // Bahnhof, AC 22 kW

let gw: TestGateway;
let front: FrontServer;
let browser: Awaited<ReturnType<typeof launchChromium>>;
const problems: string[] = [];

beforeAll(async () => {
  // Energy fast enough to see within seconds: 22 kW * 600 = about 3.7 kWh a second, a reading every 200 ms.
  gw = await startTestGateway({ pace: { progressIntervalMs: 200, timeScale: 600, powerKw: 50, stopDelayMs: 100, cdrDelayMs: 150 } });
  const page = createAppPage({
    env: "test",
    catalogueUrl: new URL("/simulator/catalogue", gw.gateway.simulator!.url).href,
    devTokens: { secret: TEST_JWT_SECRET },
  });
  front = await frontServer(gw.gateway.graphqlUrl, page);
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await front?.close();
  await gw?.close();
});

async function openPage(): Promise<Page> {
  const page = await browser.context.newPage();
  page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${front.url}/app`);
  await page.locator("body[data-ready='true']").waitFor();
  return page;
}

const energyOnPage = async (page: Page) => Number(await page.locator("#energy").textContent());

describe("the driver's page", () => {
  let sessionId = "";
  let shownKwh = 0;

  it("signs in, starts, follows the session live, stops and shows the CDR", async () => {
    const page = await openPage();

    await page.getByLabel("Driver id").fill(DRIVER);
    await page.getByLabel("Contract (EvcoID)").fill(EVCO);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.locator("#driver-name", { hasText: DRIVER }).waitFor();
    await page.locator("#connection", { hasText: "Live" }).waitFor();

    // The catalogue comes from the simulator through the page handler; the live status through GraphQL.
    await page.getByLabel("Charging point", { exact: true }).selectOption(EVSE);
    await expect.poll(() => page.getByLabel("EvseID").inputValue()).toBe(EVSE);
    await page.locator("#evse-status", { hasText: "AVAILABLE" }).waitFor();

    await page.getByRole("button", { name: "Start charging" }).click();
    await expect
      .poll(async () => ({ status: await page.locator("#session-status").textContent(), kwh: await energyOnPage(page) }), {
        timeout: 15_000,
      })
      .toSatisfy(({ status, kwh }) => status === "CHARGING" && kwh > 0);
    sessionId = (await page.locator("#fact-session").textContent()) ?? "";
    expect(sessionId).toMatch(/^[0-9a-f-]{36}$/);
    expect(await page.getByRole("button", { name: "Start charging" }).isDisabled()).toBe(true);

    // A few more readings: energy only rises, and each one is a point on the chart.
    await expect.poll(() => energyOnPage(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(4);
    const charging = await energyOnPage(page);
    expect(await page.locator("#chart circle").count()).toBeGreaterThanOrEqual(3);
    expect(Number(await page.locator("#energy-progress").getAttribute("value"))).toBeGreaterThan(0);

    await page.getByRole("button", { name: "Stop charging" }).click();
    await page.locator("#session-status", { hasText: "COMPLETED" }).waitFor({ timeout: 15_000 });
    await page.locator("#cdr-card").waitFor({ state: "visible" });
    shownKwh = Number(await page.locator("#cdr-energy").textContent());
    expect(shownKwh).toBeGreaterThanOrEqual(charging);
    expect(await energyOnPage(page)).toBe(shownKwh);
    expect(await page.locator("#cdr-duration").textContent()).toMatch(/\d+ s/);
    expect(await page.locator("#cdr-hubject").textContent()).not.toBe("");
    expect(await page.getByRole("button", { name: "Stop charging" }).isDisabled()).toBe(true);
    expect(await page.locator("#history-rows tr", { hasText: "COMPLETED" }).count()).toBe(1);

    // What the page shows is what the gateway holds.
    const data = await request({ url: gw.gateway.graphqlUrl, token: await tokenFor(DRIVER, [EVCO]) }, OneSessionDocument, {
      id: sessionId,
    });
    expect(data.chargingSession?.status).toBe("COMPLETED");
    expect(data.chargingSession?.evseId).toBe(EVSE);
    expect(data.chargingSession?.chargeDetailRecord?.consumedEnergyKwh).toBe(shownKwh);

    if (process.env.UPDATE_SCREENSHOTS === "1") {
      mkdirSync(join(root, "docs"), { recursive: true });
      await page.screenshot({ path: join(root, "docs", "app-page.png"), fullPage: true });
    } else {
      expect((await page.screenshot({ fullPage: true })).length).toBeGreaterThan(10_000);
    }
    expect(problems).toEqual([]);
    await page.close();
  }, 60_000);

  it("signs in with a pasted token and lists the finished session", async () => {
    const page = await openPage();
    await page.getByText("Paste a token instead").click();
    await page.getByLabel("Access token (JWT)").fill(`Bearer ${await tokenFor(DRIVER, [EVCO])}`);
    await page.getByRole("button", { name: "Use this token" }).click();
    await page.locator("#driver-name", { hasText: DRIVER }).waitFor();

    const row = page.locator("#history-rows tr", { hasText: EVSE });
    await row.waitFor();
    expect(await row.locator(".badge").textContent()).toBe("COMPLETED");
    expect(Number(await row.locator("td.num").textContent())).toBe(shownKwh);
    await row.getByRole("link").click();
    await page.locator("#fact-session", { hasText: sessionId }).waitFor();
    await page.locator("#cdr-card").waitFor({ state: "visible" });
    expect(problems).toEqual([]);
    await page.close();
  }, 30_000);

  it("refuses a token the gateway does not accept", async () => {
    const page = await openPage();
    await page.getByText("Paste a token instead").click();
    await page
      .getByLabel("Access token (JWT)")
      .fill(await tokenFor(DRIVER, [EVCO], { secret: "another-secret-another-secret-0123456789" }));
    await page.getByRole("button", { name: "Use this token" }).click();
    await page.locator("#sign-in-error", { hasText: "not valid" }).waitFor();
    expect(await page.locator("#signed-in").isHidden()).toBe(true);
    expect(await page.getByRole("button", { name: "Start charging" }).isDisabled()).toBe(true);
    await page.close();
  }, 30_000);
});
