// Mutual TLS against a real https server with certificates made by openssl for this run.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { HubjectDatasource, type HubjectDatasourceOptions } from "../../src/datasources/hubject.datasource.js";
import { example } from "../support/examples.js";
import { FakeHubject } from "./fake-hubject.js";

const start = { evseId: "DE*ABC*E1234*1", evcoId: "DE-DCB-C12345678-X", empPartnerSessionId: "emp-1" };

// openssl is part of every machine image here; without it this suite fails rather than skips.
describe("mutual TLS to Hubject", () => {
  let dir: string;
  const file = (name: string) => path.join(dir, name);
  let hubject: FakeHubject;
  const datasources: HubjectDatasource[] = [];
  const datasource = (tls: HubjectDatasourceOptions["tls"]) => {
    const ds = new HubjectDatasource({ baseUrl: hubject.baseUrl, providerId: "DE-DCB", tls });
    datasources.push(ds);
    return ds;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), "hubject-tls-"));
    const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
    openssl(
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-days",
      "2",
      "-subj",
      "/CN=Test Hubject CA",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
    );
    writeFileSync(file("server.ext"), "subjectAltName=IP:127.0.0.1\n");
    for (const [name, cn, ext] of [
      ["server", "127.0.0.1", ["-extfile", "server.ext"]],
      ["client", "DE-DCB", []],
    ] as const) {
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", `/CN=${cn}`, "-keyout", `${name}.key`, "-out", `${name}.csr`);
      openssl(
        "x509",
        "-req",
        "-in",
        `${name}.csr`,
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-out",
        `${name}.pem`,
        ...ext,
      );
    }
    hubject = await FakeHubject.start({
      key: readFileSync(file("server.key")),
      cert: readFileSync(file("server.pem")),
      ca: readFileSync(file("ca.pem")),
      requestCert: true,
      rejectUnauthorized: true,
    });
    hubject.answer({ json: example("02-remote-start.response.accepted") });
  });
  afterEach(() => {
    for (const ds of datasources.splice(0)) ds.close();
    hubject.requests.length = 0;
  });
  afterAll(async () => {
    await hubject?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("presents the client certificate read from the configured files", async () => {
    const ds = datasource({ certFile: file("client.pem"), keyFile: file("client.key"), caFile: file("ca.pem") });
    expect(await ds.authorizeRemoteStart(start)).toMatchObject({ kind: "answered", result: true });
    expect(await ds.pullEvseStatusById(["DE*ABC*E1234*1"])).toBeInstanceOf(Map);
    expect(hubject.requests.map((r) => r.clientCertCN)).toEqual(["DE-DCB", "DE-DCB"]);
  });

  it("an untrusted server certificate -> failed/unreachable, CONFIGURATION for safe calls", async () => {
    const ds = datasource({ certFile: file("client.pem"), keyFile: file("client.key") });
    const outcome = await ds.authorizeRemoteStart(start);
    expect(outcome).toMatchObject({ kind: "failed", reason: "unreachable" });
    await expect(ds.pullEvseStatusById(["DE*ABC*E1234*1"])).rejects.toMatchObject({ kind: "CONFIGURATION", retryable: false });
    expect(hubject.requests).toHaveLength(0);
  });

  it("no client certificate -> the server refuses the handshake -> certainly not executed", async () => {
    const ds = datasource({ caFile: file("ca.pem") });
    const outcome = await ds.authorizeRemoteStart(start);
    // Under TLS 1.3 the refusal arrives after the client already wrote the request; it must
    // still count as "not executed", not as a lost connection.
    expect(outcome).toMatchObject({ kind: "failed", reason: "unreachable" });
    expect(outcome.kind === "failed" && outcome.detail).toMatch(/CERTIFICATE_REQUIRED|EPROTO|ERR_SSL/);
    await expect(ds.pullEvseStatusById(["DE*ABC*E1234*1"])).rejects.toMatchObject({ kind: "CONFIGURATION" });
    expect(hubject.requests).toHaveLength(0);
  });
});
