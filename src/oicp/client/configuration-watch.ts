// Configuration failures (TLS, 401 or StatusCode 017, 403) are logged at error level once per
// kind, naming the setting to check; the same kind again is logged at debug until a call
// succeeds (a 2xx JSON answer without 017). Readiness reports the latest one.
import type { Logger } from "../../logger.js";
import type { Answer, ConfigurationProblemKind } from "./answer.js";

export interface HubjectConfigurationProblem {
  kind: ConfigurationProblemKind;
  /** Names the setting to check. */
  message: string;
  /** First occurrence since the last successful call. */
  since: Date;
}

export class ConfigurationWatch {
  private readonly problems = new Map<ConfigurationProblemKind, { message: string; since: Date; at: number }>();

  constructor(
    private readonly providerId: string,
    private readonly log: Logger,
  ) {}

  observe(answer: Answer): void {
    const kind = answer.configurationProblem;
    const { exchange, operation } = answer;
    if (kind === null) {
      if (answer.verdict?.verdict === "ok" && this.problems.size > 0) {
        this.log.info(
          { operation, resolved: [...this.problems.keys()] },
          "Hubject accepts the gateway's calls again: configuration problem cleared",
        );
        this.problems.clear();
      }
      return;
    }
    const message = this.message(kind, answer);
    const fields = {
      operation,
      configurationProblem: kind,
      processId: answer.processId,
      httpStatus: answer.httpStatus,
      code: exchange.type === "transport-error" ? exchange.code : undefined,
    };
    const known = this.problems.get(kind);
    if (known) {
      known.at = Date.now();
      known.message = message;
      this.log.debug(fields, message);
      return;
    }
    this.problems.set(kind, { message, since: new Date(), at: Date.now() });
    this.log.error(fields, message);
  }

  /** The configuration failure seen since the last successful call (latest kind), or null. */
  latest(): HubjectConfigurationProblem | null {
    let latest: HubjectConfigurationProblem | null = null;
    let latestAt = -Infinity;
    for (const [kind, problem] of this.problems) {
      if (problem.at >= latestAt) {
        latestAt = problem.at;
        latest = { kind, message: problem.message, since: problem.since };
      }
    }
    return latest;
  }

  private message(kind: ConfigurationProblemKind, answer: Answer): string {
    const { exchange } = answer;
    switch (kind) {
      case "tls":
        return (
          `TLS handshake with Hubject failed (${exchange.type === "transport-error" ? exchange.code : "TLS"}): check HUBJECT_CLIENT_CERT / HUBJECT_CLIENT_KEY ` +
          "(the client certificate Hubject issued, not expired, matching key) and HUBJECT_CA (the CA of Hubject's server certificate)"
        );
      case "unauthorized":
        return (
          `Hubject refused the gateway's identity (StatusCode 017 Unauthorized Access${answer.httpStatus !== null ? `, HTTP ${answer.httpStatus}` : ""}): ` +
          `check HUBJECT_PROVIDER_ID ("${this.providerId}" must be exactly the registered ProviderID) and that the client certificate (HUBJECT_CLIENT_CERT) was issued for it and has not expired`
        );
      case "forbidden":
        return "HTTP 403 from Hubject's firewall: the gateway's egress IP is not on Hubject's IP allow-list (ask Hubject to allow-list the static egress IPs)";
    }
  }
}
