// No lost CDRs (docs/oicp.md#hubject-retries, #get-cdrs): when Hubject could not deliver a CDR it
// keeps it, and GetChargeDetailRecords with CDRForwarded:false returns it. This job fetches those
// over a look-back window and hands each, as the exact text Hubject sent, to the same path as a
// pushed CDR: stored first whatever reading makes of it, de-duplicated by SessionID (Hubject does
// not track what we downloaded), then judged and applied. A record it cannot read is stored as
// rejected, never dropped.
import type { Logger } from "../logger.js";
import type { InboundDelivery, InboundOutcome } from "./inbound-messages.js";
import type { CdrSource, Clock } from "./ports.js";

export interface CdrBackfillReport {
  fetched: number;
  /** New CDRs stored (applied, waiting or flagged). */
  stored: number;
  /** Stored, but not readable (listed for the operator). */
  rejected: number;
}

export class CdrBackfill {
  constructor(
    private readonly options: {
      sessions: { receive(delivery: InboundDelivery): Promise<InboundOutcome> };
      hubject: CdrSource;
      clock: Clock;
      logger: Logger;
      lookbackMs: number;
    },
  ) {}

  async run(now = this.options.clock.now()): Promise<CdrBackfillReport> {
    const report: CdrBackfillReport = { fetched: 0, stored: 0, rejected: 0 };
    const from = new Date(now.getTime() - this.options.lookbackMs);
    for await (const page of this.options.hubject.chargeDetailRecordTexts({ from, to: now, cdrForwarded: false, pageSize: 2000 })) {
      for (const text of page) {
        report.fetched++;
        const outcome = await this.options.sessions.receive({
          kind: "CDR",
          text,
          operatorId: null,
          receivedAt: this.options.clock.now(),
          source: "backfill",
        });
        if (outcome.state === "rejected") report.rejected++;
        else if (!outcome.duplicate) report.stored++;
      }
    }
    if (report.stored > 0 || report.rejected > 0) this.options.logger.info(report, "CDR back-fill stored missing CDRs");
    return report;
  }
}
