// Mutual TLS for the inbound OICP listener: loading and validating the server certificate, key and
// client CA (OICP_TLS_CERT / OICP_TLS_KEY / OICP_TLS_CLIENT_CA), reloading them without a restart,
// and reading the caller's identity for the subject allow-list (OICP_TLS_ALLOWED_SUBJECTS).
import { createHash, createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { createSecureContext, type SecureVersion, type TLSSocket } from "node:tls";
import {
  type CertificateDescription,
  describeCertificate,
  nameAttributes,
  oneLine,
  pemCertificates,
  subjectAltNames,
} from "../../datasources/client-certificate.js";
import type { Logger } from "../../logger.js";

export interface OicpTlsOptions {
  certFile: string;
  keyFile: string;
  clientCaFile: string;
  /** Client certificate subject CNs or DNS SANs allowed to call; empty = any certificate the CA signed. */
  allowedSubjects: string[];
  /** How often the three files are checked for changes; 0 = never. */
  reloadIntervalMs: number;
}

export const OICP_TLS_MIN_VERSION: SecureVersion = "TLSv1.2";

export interface TlsMaterial {
  cert: Buffer;
  key: Buffer;
  ca: Buffer;
  /** sha256 over the three files: what the reloader compares. */
  hash: string;
  server: CertificateDescription;
}

/** A certificate, key or CA that cannot be used; the message names the setting. */
export class TlsMaterialError extends Error {
  constructor(
    readonly setting: string,
    problem: string,
  ) {
    super(`${setting}: ${problem}`);
    this.name = "TlsMaterialError";
  }
}

export function hashMaterial(cert: Buffer, key: Buffer, ca: Buffer): string {
  const hash = createHash("sha256");
  for (const part of [cert, key, ca]) hash.update(String(part.length)).update(":").update(part);
  return hash.digest("hex");
}

/** Checks that cert, key and CA parse, belong together and make a TLS context; throws TlsMaterialError. */
export function validateMaterial(cert: Buffer, key: Buffer, ca: Buffer): TlsMaterial {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(cert);
  } catch (error) {
    throw new TlsMaterialError("OICP_TLS_CERT", `not a PEM certificate (${errorText(error)})`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch (error) {
    throw new TlsMaterialError("OICP_TLS_KEY", `not an unencrypted PEM private key (${errorText(error)})`);
  }
  if (!certificate.checkPrivateKey(privateKey)) {
    throw new TlsMaterialError("OICP_TLS_KEY", "the private key does not belong to the certificate in OICP_TLS_CERT");
  }
  try {
    if (pemCertificates(ca.toString("utf8")).length === 0) throw new Error("no PEM certificate found");
  } catch (error) {
    throw new TlsMaterialError("OICP_TLS_CLIENT_CA", `not a PEM CA certificate bundle (${errorText(error)})`);
  }
  try {
    createSecureContext({ cert, key, ca, minVersion: OICP_TLS_MIN_VERSION });
  } catch (error) {
    throw new TlsMaterialError("OICP_TLS_CERT, OICP_TLS_KEY, OICP_TLS_CLIENT_CA", `cannot build a TLS context (${errorText(error)})`);
  }
  return { cert, key, ca, hash: hashMaterial(cert, key, ca), server: describeCertificate(certificate) };
}

/** Reads and validates the three files at start; throws TlsMaterialError naming the setting. */
export function loadMaterialSync(options: Pick<OicpTlsOptions, "certFile" | "keyFile" | "clientCaFile">): TlsMaterial {
  const read = (file: string, setting: string) => {
    try {
      return readFileSync(file);
    } catch (error) {
      throw new TlsMaterialError(setting, `cannot read ${file} (${errorText(error)})`);
    }
  };
  return validateMaterial(
    read(options.certFile, "OICP_TLS_CERT"),
    read(options.keyFile, "OICP_TLS_KEY"),
    read(options.clientCaFile, "OICP_TLS_CLIENT_CA"),
  );
}

export interface TlsReloader {
  /** Checks the files now (the timer calls this); resolves when done. */
  check(): Promise<void>;
  stop(): void;
}

/**
 * Every intervalMs: reads the three files and, when their content changed, validates them and calls
 * apply(). A bad set is logged once (naming the setting) and the current context stays in use.
 */
export function startTlsReloader(options: {
  files: Pick<OicpTlsOptions, "certFile" | "keyFile" | "clientCaFile">;
  intervalMs: number;
  initial: TlsMaterial;
  apply: (material: TlsMaterial) => void;
  logger: Logger;
}): TlsReloader {
  // The content last looked at, applied or not: a bad set is reported once, not on every tick.
  let seenHash = options.initial.hash;
  let running: Promise<void> | null = null;
  let stopped = false;

  async function checkOnce(): Promise<void> {
    const { certFile, keyFile, clientCaFile } = options.files;
    let cert: Buffer, key: Buffer, ca: Buffer;
    try {
      [cert, key, ca] = await Promise.all([readFile(certFile), readFile(keyFile), readFile(clientCaFile)]);
    } catch (error) {
      const setting = settingFor(error, options.files);
      options.logger.error(
        { setting, problem: errorText(error) },
        `${setting}: cannot read the file; the OICP listener keeps its current certificate`,
      );
      return;
    }
    if (stopped) return;
    const hash = hashMaterial(cert, key, ca);
    if (hash === seenHash) return;
    seenHash = hash;
    let material: TlsMaterial;
    try {
      material = validateMaterial(cert, key, ca);
    } catch (error) {
      const setting = error instanceof TlsMaterialError ? error.setting : "OICP_TLS_CERT, OICP_TLS_KEY, OICP_TLS_CLIENT_CA";
      options.logger.error(
        { setting, problem: errorText(error) },
        `${errorText(error)}; the OICP listener keeps serving with its current certificate`,
      );
      return;
    }
    try {
      options.apply(material);
    } catch (error) {
      options.logger.error({ problem: errorText(error) }, "could not apply the new OICP TLS certificate; keeping the current one");
      return;
    }
    options.logger.info({ certificate: material.server }, "OICP listener TLS certificate reloaded");
  }

  const check = () => {
    if (!running) running = checkOnce().finally(() => (running = null));
    return running;
  };
  const timer = options.intervalMs > 0 ? setInterval(() => void check(), options.intervalMs) : null;
  timer?.unref();
  return {
    check,
    stop() {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}

function settingFor(error: unknown, files: Pick<OicpTlsOptions, "certFile" | "keyFile" | "clientCaFile">): string {
  const path = (error as { path?: string } | null)?.path;
  if (path === files.keyFile) return "OICP_TLS_KEY";
  if (path === files.clientCaFile) return "OICP_TLS_CLIENT_CA";
  return "OICP_TLS_CERT";
}

export interface PeerIdentity {
  /** One line, "CN=..., O=..."; null without a certificate. */
  subject: string | null;
  commonNames: string[];
  dnsNames: string[];
}

/** The verified client certificate's identity; never the certificate itself. */
export function peerIdentity(socket: TLSSocket): PeerIdentity {
  const peer = socket.getPeerCertificate();
  if (!peer?.raw) return { subject: null, commonNames: [], dnsNames: [] };
  try {
    const cert = new X509Certificate(peer.raw);
    return {
      subject: oneLine(cert.subject),
      commonNames: nameAttributes(cert.subject, "CN"),
      dnsNames: subjectAltNames(cert.subjectAltName)
        .filter((san) => san.type === "DNS")
        .map((san) => san.value),
    };
  } catch {
    return { subject: null, commonNames: [], dnsNames: [] };
  }
}

/** CN compared exactly; DNS names without regard to case. An empty list allows every identity. */
export function subjectAllowed(identity: PeerIdentity, allowedSubjects: readonly string[]): boolean {
  if (allowedSubjects.length === 0) return true;
  if (identity.commonNames.some((cn) => allowedSubjects.includes(cn))) return true;
  const allowedLower = allowedSubjects.map((s) => s.toLowerCase());
  return identity.dnsNames.some((dns) => allowedLower.includes(dns.toLowerCase()));
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
