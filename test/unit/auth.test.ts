import { SignJWT } from "jose";
import { describe, expect, it, vi } from "vitest";
import { createAuthenticator } from "../../src/server/auth.js";

const secret = "unit-test-secret-unit-test-secret-012345";
const sign = (expiresIn: string | number) =>
  new SignJWT({ evco_ids: ["DE-GQL-C00000001-7"] })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));

describe("authenticator", () => {
  const auth = createAuthenticator({ mode: "secret", secret, issuer: undefined, audience: undefined, isDevDefault: false });

  it("remembers a verified token: the same driver comes back", async () => {
    const token = await sign("1h");
    const first = await auth.authenticate(token);
    expect(await auth.authenticate(token)).toBe(first);
    expect(first).toMatchObject({ id: "alice", evcoIds: ["DE-GQL-C00000001-7"] });
  });

  it("never serves a remembered token after it expired", async () => {
    // A controlled clock (the cache and jose both read Date): on a whole second, then 1.1 s later.
    vi.useFakeTimers({ toFake: ["Date"], now: new Date("2024-06-01T12:00:00.000Z") });
    try {
      const token = await sign(Math.floor(Date.now() / 1000) + 1);
      await auth.authenticate(token);
      vi.advanceTimersByTime(1_100);
      await expect(auth.authenticate(token)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
    } finally {
      vi.useRealTimers();
    }
  });

  it("does not remember failures", async () => {
    const token = await sign("1h");
    const forged = `${token.slice(0, -2)}xx`;
    await expect(auth.authenticate(forged)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
    await expect(auth.authenticate(forged)).rejects.toMatchObject({ extensions: { code: "UNAUTHENTICATED" } });
  });
});
