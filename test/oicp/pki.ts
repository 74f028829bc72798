// Test certificates made with the openssl CLI in a temporary folder (one per test file).
// openssl is part of every machine image here; without it these suites fail rather than skip.
// Dates: `openssl ca -startdate/-enddate` sets any validity window (also in the past), which
// `openssl x509 -req -days` cannot (OpenSSL 3.0 has no -not_before/-not_after).
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const DAY_MS = 86_400_000;

export interface IssueOptions {
  /** Subject as openssl -subj, e.g. "/CN=hubject-client" or "/O=Acme/CN=DE-GQL". */
  subject: string;
  /** Name of the issuing CA made with createCa(). */
  ca: string;
  /** subjectAltName value, e.g. "IP:127.0.0.1,DNS:localhost". */
  san?: string;
  /** Validity window; defaults: from one day ago, for 30 days more than `days`. */
  notBefore?: Date;
  notAfter?: Date;
  days?: number;
}

export interface Pki {
  dir: string;
  file(name: string): string;
  read(name: string): Buffer;
  /** A self-signed CA: <name>.pem and <name>.key. */
  createCa(name: string, cn: string): void;
  /** A key and certificate signed by a CA: <name>.key and <name>.pem. */
  issue(name: string, options: IssueOptions): void;
  /** A key with no certificate: <name>.key. */
  createKey(name: string): void;
  fingerprint(name: string): string;
  remove(): void;
}

export function createPki(prefix = "oicp-pki-"): Pki {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  const file = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });

  const createKey = (name: string) => {
    openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-out", `${name}.key`);
  };

  return {
    dir,
    file,
    read: (name) => readFileSync(file(name)),
    createKey,
    createCa(name, cn) {
      createKey(name);
      openssl(
        "req",
        "-x509",
        "-new",
        "-key",
        `${name}.key`,
        "-days",
        "3650",
        "-subj",
        `/CN=${cn}`,
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
        "-out",
        `${name}.pem`,
      );
      const db = file(`${name}-db`);
      mkdirSync(db, { recursive: true });
      writeFileSync(path.join(db, "index.txt"), "");
      writeFileSync(path.join(db, "serial"), "1000\n");
      writeFileSync(
        file(`${name}.cnf`),
        [
          "[ ca ]",
          "default_ca = test_ca",
          "[ test_ca ]",
          `database = ${path.join(db, "index.txt")}`,
          `new_certs_dir = ${db}`,
          `serial = ${path.join(db, "serial")}`,
          "default_md = sha256",
          "policy = policy_any",
          "unique_subject = no",
          "copy_extensions = copy",
          "[ policy_any ]",
          "commonName = optional",
          "organizationName = optional",
          "organizationalUnitName = optional",
          "",
        ].join("\n"),
      );
    },
    issue(name, options) {
      createKey(name);
      const csrArgs = ["req", "-new", "-key", `${name}.key`, "-subj", options.subject, "-out", `${name}.csr`];
      if (options.san) csrArgs.push("-addext", `subjectAltName=${options.san}`);
      openssl(...csrArgs);
      const notBefore = options.notBefore ?? new Date(Date.now() - DAY_MS);
      const notAfter = options.notAfter ?? new Date(Date.now() + (options.days ?? 365) * DAY_MS);
      openssl(
        "ca",
        "-batch",
        "-notext",
        "-preserveDN",
        "-config",
        `${options.ca}.cnf`,
        "-cert",
        `${options.ca}.pem`,
        "-keyfile",
        `${options.ca}.key`,
        "-startdate",
        opensslDate(notBefore),
        "-enddate",
        opensslDate(notAfter),
        "-in",
        `${name}.csr`,
        "-out",
        `${name}.pem`,
      );
    },
    fingerprint: (name) => new X509Certificate(readFileSync(file(`${name}.pem`))).fingerprint256,
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** YYYYMMDDHHMMSSZ (GeneralizedTime), what openssl ca -startdate/-enddate take. */
export function opensslDate(date: Date): string {
  return `${date.toISOString().replace(/[-:T]/g, "").slice(0, 14)}Z`;
}
