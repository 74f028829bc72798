// The operator's view of the messages Hubject sent (npm run -s inbound -- …): what was refused
// (rejected), what names our session but does not fit it (mismatch), second CDRs that differ
// from the first (conflict). Re-applies stored messages once their cause is fixed and lets the
// operator choose which CDR stands. Contract ids and card numbers never appear in full.
import { parseArgs } from "node:util";
import { redactEvcoId } from "../logger.js";
import { type InboundMessages, REAPPLIABLE } from "../sessions/inbound-messages.js";
import type { InboundState, SessionStore, StoredInboundMessage } from "../sessions/session.store.js";

export const USAGE = `Usage: npm run -s inbound -- <command>
  list [--state rejected|conflict|mismatch|waiting|duplicate|applied]... [--limit 50] [--json]
       The messages needing a look (default: rejected, conflict, mismatch), oldest first.
  show <seq> [--body] [--unredacted]
       One message; --body adds the body as received, card and contract ids shortened unless --unredacted.
  reapply <seq>... | reapply --state rejected|mismatch [--limit 50]
       Handles stored messages again (after the cause was fixed), like new deliveries.
  choose-cdr <seq>
       This stored CDR stands for its session (after a conflict); its figures replace the first one's.`;

const STATES: readonly InboundState[] = ["received", "applied", "waiting", "duplicate", "conflict", "mismatch", "rejected"];
const NEEDS_A_LOOK: readonly InboundState[] = ["rejected", "conflict", "mismatch"];

export interface InboundToolDeps {
  store: SessionStore;
  inbound: InboundMessages;
  out: (line: string) => void;
}

/** Runs one command; resolves with the process exit code (0 done, 1 failed, 2 usage). */
export async function runInboundTool(argv: readonly string[], deps: InboundToolDeps): Promise<number> {
  const { out } = deps;
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    out(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const { command, seqs, values } = parsed;
  const limit = Number(values.limit ?? 50);
  const states = (values.state ?? []) as string[];
  const unknownState = states.find((s) => !(STATES as readonly string[]).includes(s));
  if (unknownState !== undefined || !Number.isInteger(limit) || limit < 1) {
    out(`${unknownState !== undefined ? `unknown state "${unknownState}"` : "--limit must be a positive integer"}\n${USAGE}`);
    return 2;
  }
  try {
    switch (command) {
      case "list": {
        const messages = await listed(deps.store, states.length > 0 ? (states as InboundState[]) : NEEDS_A_LOOK, limit);
        if (values.json) for (const m of messages) out(JSON.stringify(summary(m)));
        else printTable(messages, out);
        return 0;
      }
      case "show": {
        const message = await deps.store.inbound(one(seqs));
        if (!message) return fail(out, `no stored message ${one(seqs)}`);
        for (const [key, value] of Object.entries(summary(message))) out(`${key.padEnd(16)} ${format(value)}`);
        if (values.body) out(`body:\n${values.unredacted ? message.text : redactBody(message.text)}`);
        return 0;
      }
      case "reapply": {
        let targets = seqs;
        if (targets.length === 0) {
          if (states.length !== 1 || !REAPPLIABLE.has(states[0] as InboundState))
            return usage(out, "reapply needs seqs or one --state rejected|mismatch");
          targets = (await deps.store.inboundInState(states[0] as InboundState, limit)).map((m) => m.seq);
        }
        for (const seq of targets) {
          const before = await deps.store.inbound(seq);
          if (!before || !REAPPLIABLE.has(before.state)) {
            out(`${seq}: ${before ? `is ${before.state}, not rejected or mismatch: skipped` : "no such message"}`);
            continue;
          }
          const [outcome] = await deps.inbound.reapply([seq]);
          out(
            `${seq}: ${outcome ? `now message ${outcome.seq}, ${outcome.state}${outcome.problem ? ` (${outcome.problem})` : ""}` : "unchanged"}`,
          );
        }
        return 0;
      }
      case "choose-cdr": {
        const session = await deps.inbound.chooseCdr(one(seqs));
        out(`message ${one(seqs)} stands for session ${session.id} (${session.status})`);
        return 0;
      }
      default:
        return usage(out, command ? `unknown command "${command}"` : "a command is needed");
    }
  } catch (error) {
    return fail(out, error instanceof Error ? error.message : String(error));
  }
}

function parse(argv: readonly string[]) {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      state: { type: "string", multiple: true },
      limit: { type: "string" },
      json: { type: "boolean" },
      body: { type: "boolean" },
      unredacted: { type: "boolean" },
    },
  });
  const [command, ...rest] = positionals;
  const seqs = rest.map((text) => {
    if (!/^\d+$/.test(text)) throw new Error(`"${text}" is not a message number`);
    return Number(text);
  });
  return { command, seqs, values };
}

function one(seqs: readonly number[]): number {
  if (seqs.length !== 1) throw new Error("give exactly one message number");
  return seqs[0]!;
}

async function listed(store: SessionStore, states: readonly InboundState[], limit: number): Promise<StoredInboundMessage[]> {
  const all = (await Promise.all(states.map((state) => store.inboundInState(state, limit)))).flat();
  return all.sort((a, b) => a.seq - b.seq).slice(0, limit);
}

/** What an operator needs to know of a message, without its body; contract ids shortened. */
function summary(m: StoredInboundMessage) {
  return {
    seq: m.seq,
    receivedAt: m.receivedAt.toISOString(),
    kind: m.kind,
    type: m.type,
    state: m.state,
    source: m.source,
    operatorId: m.operatorId,
    sessionId: m.hubjectSessionId,
    evseId: m.evseId,
    evcoId: redactEvcoId(m.evcoId) ?? null,
    gatewaySession: m.sessionId,
    duplicateOf: m.duplicateOf,
    problem: m.problem,
    anomalies: m.anomalies.map((a) => `${a.field}: ${a.kind}`),
  };
}

function printTable(messages: readonly StoredInboundMessage[], out: (line: string) => void): void {
  if (messages.length === 0) {
    out("nothing to look at");
    return;
  }
  const rows = messages.map((m) => [
    String(m.seq),
    m.receivedAt.toISOString(),
    m.type ?? m.kind,
    m.state,
    m.hubjectSessionId ?? "-",
    m.evseId ?? "-",
    m.problem ?? "",
  ]);
  const header = ["SEQ", "RECEIVED", "TYPE", "STATE", "SESSIONID", "EVSEID", "PROBLEM"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (i === header.length - 1 ? 0 : r[i]!.length))));
  for (const row of [header, ...rows]) out(row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  "));
}

const format = (value: unknown) => (value === null ? "-" : Array.isArray(value) ? value.join(", ") || "-" : String(value));

/** Card numbers, contract ids and PIN hashes in a body, shortened the way logs shorten them. */
export function redactBody(text: string): string {
  return text.replace(/("(?:EvcoID|UID|PrintedNumber|HashedPIN|PIN)"\s*:\s*")((?:[^"\\]|\\.)*)"/g, (_, key: string, value: string) => {
    return `${key}${redactEvcoId(value) ?? ""}"`;
  });
}

function usage(out: (line: string) => void, problem: string): number {
  out(`${problem}\n${USAGE}`);
  return 2;
}

function fail(out: (line: string) => void, problem: string): number {
  out(problem);
  return 1;
}
