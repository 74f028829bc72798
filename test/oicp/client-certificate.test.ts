// The start-up check of the certificate the gateway presents to Hubject (HUBJECT_CLIENT_CERT /
// HUBJECT_CLIENT_KEY / HUBJECT_PROVIDER_ID). Certificates made by openssl for this file.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/config.js";
import { checkClientCertificate, describeCertificate, normaliseProviderId } from "../../src/datasources/client-certificate.js";
import { createPki, type Pki } from "./pki.js";
import { captureLogger, LEVEL } from "./support.js";

const DAY_MS = 86_400_000;
let pki: Pki;

beforeAll(() => {
  pki = createPki("client-cert-");
  pki.createCa("ca", "Hubject Test CA");
  pki.issue("valid", { subject: "/O=GQL Mobility/CN=DE-GQL", ca: "ca", days: 365 });
  pki.issue("expired", {
    subject: "/CN=DE-GQL",
    ca: "ca",
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2020-02-01T00:00:00Z"),
  });
  pki.issue("future", {
    subject: "/CN=DE-GQL",
    ca: "ca",
    notBefore: new Date(Date.now() + 10 * DAY_MS),
    notAfter: new Date(Date.now() + 400 * DAY_MS),
  });
  pki.issue("expiring", { subject: "/CN=DE-GQL", ca: "ca", days: 10 });
  pki.issue("star", { subject: "/CN=DE*GQL", ca: "ca" });
  pki.issue("in-ou", { subject: "/O=GQL Mobility/OU=DE-GQL/CN=emp-gateway", ca: "ca" });
  pki.issue("in-san", { subject: "/CN=emp-gateway", ca: "ca", san: "DNS:emp.example,DNS:DE-GQL" });
  pki.issue("elsewhere", { subject: "/O=GQL Mobility/CN=emp-gateway.example", ca: "ca" });
  pki.createKey("unrelated");
  writeFileSync(pki.file("garbage.key"), "this is not a key\n");
  writeFileSync(pki.file("garbage-ca.pem"), "no certificates here\n");
});

afterAll(() => pki?.remove());

function check(name: string, extra: { keyName?: string; caFile?: string; providerId?: string; now?: Date } = {}) {
  const { logger, lines } = captureLogger();
  const run = () =>
    checkClientCertificate({
      certFile: pki.file(`${name}.pem`),
      keyFile: pki.file(`${extra.keyName ?? name}.key`),
      caFile: extra.caFile,
      providerId: extra.providerId ?? "DE-GQL",
      now: extra.now,
      logger,
    });
  return { run, lines };
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error("expected a ConfigError");
}

describe("checkClientCertificate", () => {
  it("a valid certificate with its key and the ProviderID as CN: no warnings", () => {
    const { run, lines } = check("valid", { caFile: pki.file("ca.pem") });
    const report = run();
    expect(report).toMatchObject({ subject: "O=GQL Mobility, CN=DE-GQL", providerIdMatch: "exact", warnings: [] });
    expect(report.notAfter).toBeInstanceOf(Date);
    expect(report.daysLeft).toBeGreaterThanOrEqual(363);
    expect(report.daysLeft).toBeLessThanOrEqual(365);
    expect(lines.filter((l) => l.level >= LEVEL.warn)).toHaveLength(0);
    expect(lines.find((l) => l.level === LEVEL.info)).toMatchObject({ certificate: { subject: "O=GQL Mobility, CN=DE-GQL" } });
    expect(JSON.stringify(lines)).not.toMatch(/BEGIN/);
  });

  it("an expired certificate -> an error naming HUBJECT_CLIENT_CERT", () => {
    const error = configError(check("expired").run);
    expect(error.message).toMatch(/HUBJECT_CLIENT_CERT: .*expired on 2020-02-01T00:00:00.000Z/);
  });

  it("expired at the `now` given, though valid today", () => {
    const error = configError(check("valid", { now: new Date(Date.now() + 400 * DAY_MS) }).run);
    expect(error.problems).toEqual([expect.stringMatching(/^HUBJECT_CLIENT_CERT: .*expired/)]);
  });

  it("a certificate not yet valid -> an error naming HUBJECT_CLIENT_CERT", () => {
    expect(configError(check("future").run).message).toMatch(/HUBJECT_CLIENT_CERT: the certificate is not valid before/);
  });

  it("a key of another certificate -> an error naming HUBJECT_CLIENT_KEY", () => {
    const error = configError(check("valid", { keyName: "unrelated" }).run);
    expect(error.problems).toEqual(["HUBJECT_CLIENT_KEY: the private key does not belong to the certificate in HUBJECT_CLIENT_CERT"]);
  });

  it("a file that is not a key -> an error naming HUBJECT_CLIENT_KEY; every problem is reported at once", () => {
    const error = configError(check("expired", { keyName: "garbage" }).run);
    expect(error.problems).toHaveLength(2);
    expect(error.message).toMatch(/HUBJECT_CLIENT_CERT: /);
    expect(error.message).toMatch(/HUBJECT_CLIENT_KEY: cannot read/);
    expect(error.message).not.toMatch(/BEGIN/);
  });

  it("a file that is not a certificate -> an error naming HUBJECT_CLIENT_CERT", () => {
    const { logger } = captureLogger();
    const error = configError(() => checkClientCertificate({ certFile: pki.file("valid.key"), providerId: "DE-GQL", logger }));
    expect(error.message).toMatch(/HUBJECT_CLIENT_CERT: cannot read a certificate/);
  });

  it("an unreadable HUBJECT_CA -> an error naming HUBJECT_CA", () => {
    expect(configError(check("valid", { caFile: pki.file("garbage-ca.pem") }).run).message).toMatch(/HUBJECT_CA: /);
  });

  it("expiring within 30 days -> a warning (logged and returned), no error", () => {
    const { run, lines } = check("expiring");
    const report = run();
    expect(report.daysLeft).toBeLessThan(30);
    expect(report.warnings).toEqual([expect.stringMatching(/^HUBJECT_CLIENT_CERT: the certificate expires in (9|10) day\(s\)/)]);
    expect(lines.filter((l) => l.level === LEVEL.warn).map((l) => l.msg)).toEqual(report.warnings);
  });

  describe("does the certificate fit the ProviderID?", () => {
    it("exact in CN, OU or a subjectAltName", () => {
      expect(check("valid").run().providerIdMatch).toBe("exact");
      expect(check("in-ou").run()).toMatchObject({ providerIdMatch: "exact", warnings: [] });
      expect(check("in-san").run()).toMatchObject({ providerIdMatch: "exact", warnings: [] });
    });

    it("only with other separators (DE*GQL vs DE-GQL) -> normalised, with a warning about 017", () => {
      const { run, lines } = check("star");
      const report = run();
      expect(report.providerIdMatch).toBe("normalised");
      expect(report.warnings).toEqual([expect.stringMatching(/HUBJECT_PROVIDER_ID: "DE-GQL" .*different spelling.*017/)]);
      expect(lines.some((l) => l.level === LEVEL.warn)).toBe(true);
      expect(check("star", { providerId: "DE*GQL" }).run().providerIdMatch).toBe("exact");
    });

    it("not found -> none, a warning and no error (Hubject's CN format is not documented)", () => {
      const report = check("elsewhere").run();
      expect(report.providerIdMatch).toBe("none");
      expect(report.warnings).toEqual([expect.stringMatching(/HUBJECT_PROVIDER_ID: "DE-GQL" was not found/)]);
    });
  });
});

describe("describeCertificate", () => {
  it("gives subject, issuer, notAfter and fingerprint only", () => {
    const described = describeCertificate(pki.read("valid.pem"));
    expect(Object.keys(described).sort()).toEqual(["fingerprint256", "issuer", "notAfter", "subject"]);
    expect(described).toMatchObject({
      subject: "O=GQL Mobility, CN=DE-GQL",
      issuer: "CN=Hubject Test CA",
      fingerprint256: pki.fingerprint("valid"),
    });
    expect(new Date(described.notAfter).toISOString()).toBe(described.notAfter);
    expect(JSON.stringify(described)).not.toMatch(/BEGIN|PRIVATE/);
  });
});

describe("normaliseProviderId", () => {
  it("drops separators and case", () => {
    expect(["DE*GQL", "DE-GQL", "DEGQL", "de-gql"].map(normaliseProviderId)).toEqual(["DEGQL", "DEGQL", "DEGQL", "DEGQL"]);
  });
});
