// The inbound OICP listener accepts only Hubject: mutual TLS against OICP_TLS_CLIENT_CA, the
// subject allow-list, the source-address allow-list, certificate hot reload, and plain HTTP for
// local development. Real sockets; certificates made by openssl for this file.
import { once } from "node:events";
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs";
import type { Socket } from "node:net";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { createOicpListener } from "../../../src/oicp/inbound/listener.js";
import { example } from "../../support/examples.js";
import { eventually } from "../../support/wait.js";
import { createPki, type Pki } from "../pki.js";
import { call, captureLogger, LEVEL, type RunningListener, recordingSessions, startListener } from "../support.js";

const NOTIFICATIONS = "/api/oicp/notificationmgmt/v11/charging-notifications";

let pki: Pki;
const running: RunningListener[] = [];

beforeAll(() => {
  pki = createPki();
  pki.createCa("ca", "Test Hubject Client CA");
  pki.createCa("wrong-ca", "Somebody Else CA");
  pki.issue("server", { subject: "/CN=localhost", ca: "ca", san: "IP:127.0.0.1,DNS:localhost" });
  pki.issue("server2", { subject: "/CN=localhost-2", ca: "ca", san: "IP:127.0.0.1,DNS:localhost" });
  pki.issue("hubject", { subject: "/O=Hubject GmbH/CN=hubject-client", ca: "ca" });
  pki.issue("other", { subject: "/O=Acme/CN=other-client", ca: "ca" });
  pki.issue("dns-only", { subject: "/CN=some-name", ca: "ca", san: "DNS:hubject-client.example" });
  pki.issue("stranger", { subject: "/CN=hubject-client", ca: "wrong-ca" });
});

afterEach(async () => {
  for (const r of running.splice(0)) await r.close();
});

afterAll(() => pki?.remove());

const tlsOptions = (
  overrides: Partial<{ certFile: string; keyFile: string; allowedSubjects: string[]; reloadIntervalMs: number }> = {},
) => ({
  certFile: pki.file("server.pem"),
  keyFile: pki.file("server.key"),
  clientCaFile: pki.file("ca.pem"),
  allowedSubjects: [],
  reloadIntervalMs: 0,
  ...overrides,
});

async function start(...args: Parameters<typeof startListener>) {
  const r = await startListener(...args);
  running.push(r);
  return r;
}

/** Client TLS options: trusts the server's CA and presents `client` (a pki name) unless null. */
const as = (client: string | null, extra: { ca?: string } = {}) => ({
  ca: pki.read(`${extra.ca ?? "ca"}.pem`),
  ...(client ? { cert: pki.read(`${client}.pem`), key: pki.read(`${client}.key`) } : {}),
});

const notification = () => example("05-notification-start.request");

describe("mutual TLS", () => {
  it("a client certificate from the configured CA posts a notification -> HTTP 200 and an OICP ack", async () => {
    const r = await start({ tls: tlsOptions(), allowedIps: [] });
    expect(r.listener.scheme).toBe("https");
    const answer = await call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as("hubject") });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ Result: true, StatusCode: { Code: "000" }, SessionID: notification().SessionID });
    expect(r.calls).toHaveLength(1);
    expect(answer.serverFingerprint).toBe(pki.fingerprint("server"));
  });

  it("no client certificate -> the handshake is refused and nothing is received", async () => {
    const r = await start({ tls: tlsOptions(), allowedIps: [] });
    // TLS 1.3: the refusal arrives after the client wrote the request; TLS 1.2: during the handshake.
    await expect(call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as(null) })).rejects.toThrow();
    await expect(
      call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: { ...as(null), maxVersion: "TLSv1.2" } }),
    ).rejects.toThrow();
    await expect(call({ port: r.port, path: "/healthz", tls: as(null) })).rejects.toThrow();
    expect(r.calls).toHaveLength(0);
    await eventually(() => r.lines.filter((l) => l.msg === "OICP TLS handshake refused").length >= 1, "the refused handshake in the log");
  });

  it("a client certificate from another CA -> refused, nothing received", async () => {
    const r = await start({ tls: tlsOptions(), allowedIps: [] });
    await expect(call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as("stranger") })).rejects.toThrow();
    await expect(
      call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: { ...as("stranger"), maxVersion: "TLSv1.2" } }),
    ).rejects.toThrow();
    expect(r.calls).toHaveLength(0);
  });

  it("refuses TLS below 1.2", async () => {
    const r = await start({ tls: tlsOptions(), allowedIps: [] });
    await expect(call({ port: r.port, path: "/healthz", tls: { ...as("hubject"), maxVersion: "TLSv1.1" } })).rejects.toThrow();
  });

  it("with OICP_TLS_ALLOWED_SUBJECTS: a CN not in the list -> 403 (not an ack), a warn with subject and IP, nothing received", async () => {
    const r = await start({ tls: tlsOptions({ allowedSubjects: ["hubject-client"] }), allowedIps: [] });
    const refused = await call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as("other") });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ error: "forbidden", reason: "client certificate not allowed" });
    expect(refused.body).not.toHaveProperty("Result");
    expect(r.calls).toHaveLength(0);
    const warn = r.lines.find((l) => l.level === LEVEL.warn && String(l.msg).includes("OICP_TLS_ALLOWED_SUBJECTS"));
    expect(warn).toMatchObject({ subject: "O=Acme, CN=other-client", sourceIp: "127.0.0.1" });
    expect(JSON.stringify(r.lines)).not.toContain("BEGIN CERTIFICATE");
    // The health check is under the same rules.
    expect((await call({ port: r.port, path: "/healthz", tls: as("other") })).status).toBe(403);

    const accepted = await call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as("hubject") });
    expect(accepted.status).toBe(200);
    expect(accepted.body).toMatchObject({ Result: true });
    expect(r.calls).toHaveLength(1);
    expect((await call({ port: r.port, path: "/healthz", tls: as("hubject") })).body).toEqual({ status: "ok" });
  });

  it("a DNS subjectAltName in the list is accepted too", async () => {
    const r = await start({ tls: tlsOptions({ allowedSubjects: ["hubject-client.example"] }), allowedIps: [] });
    expect((await call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as("dns-only") })).status).toBe(200);
    expect((await call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as("hubject") })).status).toBe(403);
    expect(r.calls).toHaveLength(1);
  });

  it("does not start with a key that does not belong to the certificate, and names the setting", () => {
    const { logger } = captureLogger();
    const { sessions } = recordingSessions();
    expect(() =>
      createOicpListener({
        sessions,
        logger,
        pathPrefix: "",
        maxBodyBytes: 1024,
        allowedIps: [],
        tls: tlsOptions({ keyFile: pki.file("server2.key") }),
      }),
    ).toThrow(/OICP_TLS_KEY/);
  });
});

describe("source address allow-list (OICP_ALLOWED_IPS)", () => {
  it("plain HTTP: a source outside the list -> 403 before the body is read, nothing received", async () => {
    const r = await start({ tls: null, allowedIps: ["10.0.0.0/8", "::1", "192.168.1.7"] });
    const refused = await call({ port: r.port, path: NOTIFICATIONS, body: notification() });
    expect(refused).toMatchObject({ status: 403, body: { error: "forbidden", reason: "source address not allowed" } });
    expect(r.calls).toHaveLength(0);
    expect(r.lines.find((l) => l.level === LEVEL.warn && l.sourceIp === "127.0.0.1")).toBeDefined();
  });

  it("a dual-stack listener sees ::ffff:127.0.0.1: refused when 127.0.0.1 is not listed, accepted when it is", async () => {
    const refusing = await start({ tls: null, allowedIps: ["192.168.0.0/16", "::ffff:10.0.0.1"] }, "::");
    const remoteAddresses: Array<string | undefined> = [];
    refusing.listener.on("connection", (socket: Socket) => remoteAddresses.push(socket.remoteAddress));
    const refused = await call({ port: refusing.port, path: NOTIFICATIONS, body: notification() });
    expect(remoteAddresses).toEqual(["::ffff:127.0.0.1"]);
    expect(refused.status).toBe(403);
    expect(refusing.calls).toHaveLength(0);
    expect(refusing.lines.find((l) => l.level === LEVEL.warn && String(l.msg).includes("OICP_ALLOWED_IPS"))).toMatchObject({
      sourceIp: "127.0.0.1",
    });

    const accepting = await start({ tls: null, allowedIps: ["127.0.0.1"] }, "::");
    expect((await call({ port: accepting.port, path: NOTIFICATIONS, body: notification() })).status).toBe(200);
    expect(accepting.calls).toHaveLength(1);
  });

  it("an IPv4-mapped IPv6 entry matches an IPv4 caller", async () => {
    const r = await start({ tls: null, allowedIps: ["::ffff:127.0.0.0/104"] });
    expect((await call({ port: r.port, path: NOTIFICATIONS, body: notification() })).status).toBe(200);
    expect(r.calls).toHaveLength(1);
  });

  it("TLS: a source outside the list is dropped before the handshake; a listed one gets through", async () => {
    const refusing = await start({ tls: tlsOptions(), allowedIps: ["10.0.0.0/8"] });
    // Runs after the listener's own "connection" handler, which drops the socket.
    const dropped: Array<Promise<unknown>> = [];
    refusing.listener.on("connection", (socket: Socket) => dropped.push(once(socket, "close")));
    await expect(call({ port: refusing.port, path: NOTIFICATIONS, body: notification(), tls: as("hubject") })).rejects.toThrow();
    expect(refusing.calls).toHaveLength(0);
    expect(refusing.lines.find((l) => l.level === LEVEL.warn && String(l.msg).includes("OICP_ALLOWED_IPS"))).toMatchObject({
      sourceIp: "127.0.0.1",
    });
    await Promise.all(dropped); // closed on the listener's side: no handshake can start (or be refused) on it any more
    expect(refusing.lines.filter((l) => l.msg === "OICP TLS handshake refused")).toEqual([]); // no handshake was started

    const accepting = await start({ tls: tlsOptions(), allowedIps: ["127.0.0.0/8"] });
    expect((await call({ port: accepting.port, path: NOTIFICATIONS, body: notification(), tls: as("hubject") })).status).toBe(200);
    expect(accepting.calls).toHaveLength(1);
  });
});

describe("certificate hot reload", () => {
  it("serves a replaced certificate on new connections; keeps the old one when the replacement is bad", async () => {
    const live = path.join(pki.dir, "live");
    mkdirSync(live, { recursive: true });
    const certFile = path.join(live, "server.pem");
    const keyFile = path.join(live, "server.key");
    const install = (cert: string, key: string) => {
      copyFileSync(pki.file(cert), certFile);
      copyFileSync(pki.file(key), keyFile);
    };
    install("server.pem", "server.key");
    const r = await start({ tls: tlsOptions({ certFile, keyFile, reloadIntervalMs: 100 }), allowedIps: [] });
    const seen = () => call({ port: r.port, path: "/healthz", tls: as("hubject") }).then((a) => a.serverFingerprint);
    expect(await seen()).toBe(pki.fingerprint("server"));

    install("server2.pem", "server2.key");
    await eventually(async () => (await seen()) === pki.fingerprint("server2"), "server2's certificate on a new connection", 5_000, 50);
    await eventually(() => r.lines.filter((l) => l.msg === "OICP listener TLS certificate reloaded").length === 1, "one reload in the log");
    const info = r.lines.find((l) => l.msg === "OICP listener TLS certificate reloaded")!;
    expect(info).toMatchObject({
      level: LEVEL.info,
      certificate: { subject: "CN=localhost-2", fingerprint256: pki.fingerprint("server2") },
    });

    // A garbage key: error naming OICP_TLS_KEY, the working certificate stays.
    r.lines.length = 0;
    writeFileSync(keyFile, "-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n");
    const error = await eventually(() => r.lines.find((l) => l.level === LEVEL.error), "an error about the garbage key");
    expect(error).toMatchObject({ setting: "OICP_TLS_KEY" });
    expect(String(error.msg)).toMatch(/^OICP_TLS_KEY: .*keeps serving with its current certificate/);
    // A few more checks of the same files, each the one a tick of the timer runs: reported once, not every tick.
    for (let tick = 0; tick < 3; tick++) await r.listener.reloadTls();
    expect(r.lines.filter((l) => l.level === LEVEL.error)).toHaveLength(1);
    const after = await call({ port: r.port, path: NOTIFICATIONS, body: notification(), tls: as("hubject") });
    expect(after.status).toBe(200);
    expect(after.serverFingerprint).toBe(pki.fingerprint("server2"));

    // A valid key of another certificate: refused as well.
    r.lines.length = 0;
    install("server.pem", "server2.key");
    await eventually(() => r.lines.find((l) => l.level === LEVEL.error), "an error about the key of another certificate");
    expect(r.lines.find((l) => l.level === LEVEL.error)).toMatchObject({ setting: "OICP_TLS_KEY" });
    expect(await seen()).toBe(pki.fingerprint("server2"));

    // A good pair again is taken.
    install("server.pem", "server.key");
    await eventually(async () => (await seen()) === pki.fingerprint("server"), "the good certificate again on a new connection", 5_000, 50);
    expect(JSON.stringify(r.lines)).not.toMatch(/BEGIN (EC |RSA )?PRIVATE KEY|BEGIN CERTIFICATE/);
  });

  it("stops checking the files once the listener is closed", async () => {
    const live = path.join(pki.dir, "live-closed");
    mkdirSync(live, { recursive: true });
    const certFile = path.join(live, "server.pem");
    const keyFile = path.join(live, "server.key");
    copyFileSync(pki.file("server.pem"), certFile);
    copyFileSync(pki.file("server.key"), keyFile);
    // The reload timer on a controlled clock (sockets and every other timer stay real).
    vi.useFakeTimers({ toFake: ["setInterval", "clearInterval"] });
    try {
      const r = await startListener({ tls: tlsOptions({ certFile, keyFile, reloadIntervalMs: 50 }), allowedIps: [] });
      await r.close();
      const before = r.lines.length;
      copyFileSync(pki.file("server2.pem"), certFile);
      copyFileSync(pki.file("server2.key"), keyFile);
      await vi.advanceTimersByTimeAsync(250); // five ticks of a timer that close() should have stopped
      await r.listener.reloadTls(); // settles a check such a tick would have started
      expect(r.lines.slice(before).filter((l) => String(l.msg).includes("reloaded"))).toHaveLength(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe("plain HTTP (local development)", () => {
  it("still answers notifications, and warns at start that it is plain HTTP", async () => {
    const r = await start({ tls: null, allowedIps: [] });
    expect(r.listener.scheme).toBe("http");
    const answer = await call({ port: r.port, path: NOTIFICATIONS, body: notification() });
    expect(answer).toMatchObject({ status: 200, body: { Result: true, StatusCode: { Code: "000" } } });
    expect(r.calls).toHaveLength(1);
    expect((await call({ port: r.port, path: NOTIFICATIONS, body: "{ not json" })).body).toMatchObject({
      Result: false,
      StatusCode: { Code: "022" },
    });
    expect(r.lines.find((l) => l.level === LEVEL.warn && String(l.msg).includes("plain HTTP"))).toBeDefined();
  });
});
