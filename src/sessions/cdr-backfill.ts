// No lost CDRs (docs/oicp.md#hubject-retries, #get-cdrs): when Hubject could not deliver a CDR it keeps it, and
// GetChargeDetailRecords with CDRForwarded:false returns it. This job fetches those over a
// look-back window and feeds each through the same path as a pushed CDR: stored first,
// deduplicated by SessionID (Hubject does not track what we downloaded), then applied.
import type { Logger } from "../logger.js";
import type { CdrSource, InboundReader } from "./ports.js";
import type { SessionService } from "./session.service.js";

export interface CdrBackfillReport {
  fetched: number;
  stored: number;
  rejected: number;
}

export class CdrBackfill {
  constructor(
    private readonly options: {
      sessions: Pick<SessionService, "receive">;
      hubject: CdrSource;
      reader: InboundReader;
      logger: Logger;
      lookbackMs: number;
    },
  ) {}

  async run(now = new Date()): Promise<CdrBackfillReport> {
    const report: CdrBackfillReport = { fetched: 0, stored: 0, rejected: 0 };
    const from = new Date(now.getTime() - this.options.lookbackMs);
    for await (const page of this.options.hubject.chargeDetailRecordPages({ from, to: now, cdrForwarded: false, pageSize: 2000 })) {
      for (const record of page) {
        report.fetched++;
        const parsed = this.options.reader.read("CDR", record, new Date());
        if (!parsed.ok) {
          report.rejected++;
          this.options.logger.warn(
            { problem: parsed.problem, hubjectSessionId: sessionIdOf(record) },
            "back-filled CDR could not be parsed",
          );
          continue;
        }
        const outcome = await this.options.sessions.receive(parsed.value);
        if (!outcome.duplicate) report.stored++;
      }
    }
    if (report.stored > 0 || report.rejected > 0) this.options.logger.info(report, "CDR back-fill stored missing CDRs");
    return report;
  }
}

const sessionIdOf = (record: unknown): unknown =>
  record && typeof record === "object" ? (record as { SessionID?: unknown }).SessionID : undefined;
