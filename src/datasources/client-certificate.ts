// Start-up check of the client certificate the gateway presents to Hubject (HUBJECT_CLIENT_CERT /
// HUBJECT_CLIENT_KEY). Hubject compares the ProviderID of every call with the certificate's identity
// and answers 017 on a mismatch (docs/oicp.md#transport); how exactly it reads the identity is not documented
// (docs/oicp.md#open-questions), so a ProviderID that cannot be found in the certificate is a warning, not an error.
// Nothing here ever logs a PEM or a key: only subject, issuer, expiry and fingerprint.
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { ConfigError } from "../config/config.js";
import type { Logger } from "../logger.js";

export const EXPIRY_WARNING_DAYS = 30;
const DAY_MS = 86_400_000;

export interface CertificateDescription {
  subject: string;
  issuer: string;
  notAfter: string;
  fingerprint256: string;
}

/** What may go into a log line about a certificate. Takes a parsed certificate or PEM/DER (first certificate). */
export function describeCertificate(certificate: X509Certificate | string | Buffer): CertificateDescription {
  const cert = certificate instanceof X509Certificate ? certificate : new X509Certificate(certificate);
  return {
    subject: oneLine(cert.subject),
    issuer: oneLine(cert.issuer),
    notAfter: new Date(cert.validTo).toISOString(),
    fingerprint256: cert.fingerprint256,
  };
}

/** "CN=a\nO=b" → "CN=a, O=b". */
export function oneLine(distinguishedName: string): string {
  return distinguishedName
    .split("\n")
    .filter((part) => part.length > 0)
    .join(", ");
}

/** Attribute values of a distinguished name as Node prints it ("CN=a\nOU=b\nOU=c"). */
export function nameAttributes(distinguishedName: string, attribute: string): string[] {
  const prefix = `${attribute}=`;
  return distinguishedName
    .split("\n")
    .filter((line) => line.startsWith(prefix))
    .map((line) => line.slice(prefix.length));
}

/** Entries of a subjectAltName string ("DNS:a, IP Address:1.2.3.4", values may be JSON-quoted). */
export function subjectAltNames(subjectAltName: string | undefined): Array<{ type: string; value: string }> {
  if (!subjectAltName) return [];
  const out: Array<{ type: string; value: string }> = [];
  const pattern = /\s*([A-Za-z][A-Za-z ]*):("(?:[^"\\]|\\.)*"|[^,]*)(?:,|$)/g;
  for (const match of subjectAltName.matchAll(pattern)) {
    const raw = match[2]!.trim();
    let value = raw;
    if (raw.startsWith('"')) {
      try {
        value = JSON.parse(raw) as string;
      } catch {
        value = raw.slice(1, -1);
      }
    }
    out.push({ type: match[1]!.trim(), value });
  }
  return out;
}

/** Every certificate in a PEM bundle. */
export function pemCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

export type ProviderIdMatch = "exact" | "normalised" | "none";

export interface ClientCertificateReport {
  subject: string;
  notAfter: Date;
  /** Whole days until notAfter (rounded down). */
  daysLeft: number;
  providerIdMatch: ProviderIdMatch;
  warnings: string[];
}

export interface ClientCertificateCheckOptions {
  certFile: string;
  keyFile?: string;
  caFile?: string;
  providerId: string;
  now?: Date;
  logger: Pick<Logger, "info" | "warn">;
}

/**
 * Validates the certificate and key the gateway presents to Hubject. Throws a ConfigError naming
 * HUBJECT_CLIENT_CERT / HUBJECT_CLIENT_KEY / HUBJECT_CA when the gateway cannot work with them
 * (unreadable, not yet valid, expired, key of another certificate); logs and returns warnings for
 * what may still work (expires within 30 days, ProviderID not found or spelt differently).
 */
export function checkClientCertificate(options: ClientCertificateCheckOptions): ClientCertificateReport {
  const now = options.now ?? new Date();
  const problems: string[] = [];
  const warnings: string[] = [];

  let cert: X509Certificate;
  try {
    cert = new X509Certificate(readFileSync(options.certFile));
  } catch (error) {
    throw new ConfigError([`HUBJECT_CLIENT_CERT: cannot read a certificate from ${options.certFile} (${errorText(error)})`]);
  }
  const notBefore = new Date(cert.validFrom);
  const notAfter = new Date(cert.validTo);
  if (now < notBefore) {
    problems.push(`HUBJECT_CLIENT_CERT: the certificate is not valid before ${notBefore.toISOString()} (check the clock)`);
  }
  if (now > notAfter) {
    problems.push(
      `HUBJECT_CLIENT_CERT: the certificate expired on ${notAfter.toISOString()}; Hubject refuses the TLS handshake. Request a new one from Hubject`,
    );
  }
  if (options.keyFile) {
    try {
      const key = createPrivateKey(readFileSync(options.keyFile));
      if (!cert.checkPrivateKey(key)) {
        problems.push("HUBJECT_CLIENT_KEY: the private key does not belong to the certificate in HUBJECT_CLIENT_CERT");
      }
    } catch (error) {
      problems.push(`HUBJECT_CLIENT_KEY: cannot read an unencrypted private key from ${options.keyFile} (${errorText(error)})`);
    }
  }
  if (options.caFile) {
    try {
      const cas = pemCertificates(readFileSync(options.caFile, "utf8"));
      if (cas.length === 0) throw new Error("no PEM certificate found");
      for (const ca of cas) {
        if (now > new Date(ca.validTo))
          warnings.push(`HUBJECT_CA: the CA certificate ${oneLine(ca.subject)} expired on ${new Date(ca.validTo).toISOString()}`);
      }
    } catch (error) {
      problems.push(`HUBJECT_CA: cannot read CA certificates from ${options.caFile} (${errorText(error)})`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / DAY_MS);
  if (daysLeft < EXPIRY_WARNING_DAYS) {
    warnings.push(
      `HUBJECT_CLIENT_CERT: the certificate expires in ${daysLeft} day(s), on ${notAfter.toISOString()}; request a new one from Hubject`,
    );
  }

  const providerIdMatch = matchProviderId(cert, options.providerId);
  if (providerIdMatch === "normalised") {
    warnings.push(
      `HUBJECT_PROVIDER_ID: "${options.providerId}" appears in the certificate only with a different spelling (separators differ); Hubject compares the exact string and answers 017 on a mismatch`,
    );
  } else if (providerIdMatch === "none") {
    warnings.push(
      `HUBJECT_PROVIDER_ID: "${options.providerId}" was not found in the certificate's subject (CN, O, OU) or subjectAltName; Hubject may answer 017 (check the ProviderID registered with Hubject)`,
    );
  }

  const report: ClientCertificateReport = { subject: oneLine(cert.subject), notAfter, daysLeft, providerIdMatch, warnings };
  const described = describeCertificate(cert);
  for (const warning of warnings) options.logger.warn({ certificate: described }, warning);
  options.logger.info({ certificate: described, daysLeft, providerIdMatch }, "Hubject client certificate checked");
  return report;
}

/** Looks for the ProviderID in CN, O, OU and subjectAltName values: exact, else with separators removed. */
export function matchProviderId(cert: X509Certificate, providerId: string): ProviderIdMatch {
  const candidates = [
    ...["CN", "O", "OU"].flatMap((attribute) => nameAttributes(cert.subject, attribute)),
    ...subjectAltNames(cert.subjectAltName).map((san) => san.value),
  ];
  if (candidates.includes(providerId)) return "exact";
  const wanted = normaliseProviderId(providerId);
  return candidates.some((candidate) => normaliseProviderId(candidate) === wanted) ? "normalised" : "none";
}

/** "DE*ABC", "de-abc", "DE ABC" → "DEABC". */
export function normaliseProviderId(value: string): string {
  return value.toUpperCase().replace(/[^A-Z0-9]/g, "");
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
