// Configuration for tests: a production environment that passes every check but the one a test
// is about, and the problems loadConfig reports for an environment.
import { ConfigError, loadConfig } from "../../src/config/config.js";

/** Config validation only checks that certificate files exist; any readable file stands in here. */
const SOME_FILE = "/etc/hostname";

/** NODE_ENV=production with a real Hubject, TLS files and a 32-byte secret; override what a test is about. */
export const PRODUCTION_ENV: Readonly<Record<string, string>> = Object.freeze({
  NODE_ENV: "production",
  AUTH_JWT_SECRET: "x".repeat(32),
  HUBJECT_BASE_URL: "http://127.0.0.1:9/api/oicp",
  HUBJECT_PROVIDER_ID: "DE-GQL",
  OICP_TLS_CERT: SOME_FILE,
  OICP_TLS_KEY: SOME_FILE,
  OICP_TLS_CLIENT_CA: SOME_FILE,
});

/** The problems loadConfig reports for `env` (none: []). */
export function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}
