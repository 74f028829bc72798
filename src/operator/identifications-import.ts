// Bulk registration of identifications from a CSV file (npm run -s identifications:import -- FILE.csv).
// Each bad row is reported with its line number and problems; the good rows go through the
// registry (IdentificationRegistry.register) in batches, each batch one transaction, so a
// failure never leaves a batch half-written. Idempotent: a re-run reports every row unchanged.
// PINs are hashed by the registry and never printed, not even in a problem.
import { readFile } from "node:fs/promises";
import {
  credentialKey,
  IDENTIFICATION_STATUSES,
  IDENTIFICATION_TYPES,
  type IdentificationInput,
  type IdentificationStatus,
  type IdentificationType,
  RFID_TYPES,
  type RfidType,
  uidKey,
} from "../identifications/identification.js";
import type { RegistrationOutcome } from "../identifications/registry.js";

export const USAGE = `Usage: npm run -s identifications:import -- FILE.csv [--batch-size 500]
  FILE.csv: a header row, then one identification per row (RFC 4180 quoting).
  Required columns: driver, evco_id, type, uid (empty for QR_CODE and PLUG_AND_CHARGE).
  Optional columns: rfid_type, printed_number, expires_at, pin, pin_hash, status.
  type: RFID_MIFARE_FAMILY, RFID, QR_CODE, PLUG_AND_CHARGE or OICP's RFIDMifareFamilyIdentification,
        RFIDIdentification, QRCodeIdentification, PlugAndChargeIdentification (any case).
  Exit: 0 every row imported or unchanged; 1 some rows bad (the good ones imported);
        2 the file is unusable (missing, unreadable, no required column); 3 the import stopped (store error).`;

export const REQUIRED_COLUMNS = ["driver", "evco_id", "type", "uid"] as const;
export const OPTIONAL_COLUMNS = ["rfid_type", "printed_number", "expires_at", "pin", "pin_hash", "status"] as const;
type Column = (typeof REQUIRED_COLUMNS)[number] | (typeof OPTIONAL_COLUMNS)[number];
const COLUMNS: readonly string[] = [...REQUIRED_COLUMNS, ...OPTIONAL_COLUMNS];

export const DEFAULT_BATCH_SIZE = 500;

/** OICP's identification object names (docs/oicp.md#authorize-start) and ours, by lower case. */
const TYPE_NAMES: ReadonlyMap<string, IdentificationType> = new Map([
  ...IDENTIFICATION_TYPES.map((t) => [t.toLowerCase(), t] as const),
  ["rfidmifarefamilyidentification", "RFID_MIFARE_FAMILY"],
  ["rfididentification", "RFID"],
  ["qrcodeidentification", "QR_CODE"],
  ["plugandchargeidentification", "PLUG_AND_CHARGE"],
]);

/** An ISO 8601 date or date-time: 2027-12-31, 2027-12-31T23:59:59Z, 2027-12-31T23:59:59+01:00. */
const ISO_DATE_TIME = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

export interface CsvRecord {
  /** The line the record starts on (1: the header). */
  line: number;
  fields: string[];
}

export class CsvError extends Error {
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
    this.name = "CsvError";
  }
}

/**
 * RFC 4180: fields separated by commas, records by CRLF or LF; a field in double quotes may hold
 * commas, line breaks and doubled quotes (""). A quote inside an unquoted field is taken as text
 * (lenient, as spreadsheets write it); an unclosed quoted field makes the file unreadable.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let line = 1;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0; // a spreadsheet's byte-order mark
  while (i < text.length) {
    const start = line;
    const fields: string[] = [];
    for (;;) {
      let field = "";
      if (text[i] === '"') {
        const opened = line;
        i++;
        for (;;) {
          if (i >= text.length) throw new CsvError(opened, "a quoted field is not closed");
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              field += '"';
              i += 2;
              continue;
            }
            i++;
            break;
          }
          if (c === "\n") line++;
          field += c;
          i++;
        }
        // After the closing quote only a separator or the end of the record may come.
        while (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") field += text[i++];
      } else {
        while (i < text.length && text[i] !== "," && text[i] !== "\n" && text[i] !== "\r") field += text[i++];
      }
      fields.push(field);
      if (text[i] === ",") {
        i++;
        continue;
      }
      if (text[i] === "\r") i++;
      if (text[i] === "\n") {
        i++;
        line++;
      }
      break;
    }
    // Blank lines (a trailing newline, a spreadsheet's empty rows) are no records.
    if (!(fields.length === 1 && fields[0]!.trim() === "")) records.push({ line: start, fields });
  }
  return records;
}

/** A row as an input, or its problems. Problems name the column and never hold a PIN. */
export function rowToInput(row: Partial<Record<Column, string>>): { input: IdentificationInput; problems: string[] } {
  const problems: string[] = [];
  const cell = (column: Column): string | null => {
    const value = row[column]?.trim() ?? "";
    return value === "" ? null : value;
  };
  const rawType = cell("type");
  const type = rawType ? TYPE_NAMES.get(rawType.toLowerCase()) : undefined;
  if (!type) {
    problems.push(
      rawType
        ? `type: "${rawType}" is not one of ${IDENTIFICATION_TYPES.join(", ")} (or OICP's RFIDMifareFamilyIdentification, RFIDIdentification, QRCodeIdentification, PlugAndChargeIdentification)`
        : "type: missing",
    );
  }
  const rawRfidType = cell("rfid_type");
  const rfidType = rawRfidType ? (RFID_TYPES.find((t) => t.toLowerCase() === rawRfidType.toLowerCase()) ?? rawRfidType) : null;
  const rawExpiry = cell("expires_at");
  let expiresAt: Date | null = null;
  if (rawExpiry) {
    expiresAt = new Date(rawExpiry);
    if (!ISO_DATE_TIME.test(rawExpiry) || Number.isNaN(expiresAt.getTime())) {
      problems.push("expires_at: not an ISO 8601 date or date-time (e.g. 2027-12-31T23:59:59Z)");
      expiresAt = null;
    }
  }
  const rawStatus = cell("status");
  const status = rawStatus ? (IDENTIFICATION_STATUSES.find((s) => s === rawStatus.toUpperCase()) ?? rawStatus) : undefined;
  const input: IdentificationInput = {
    driverId: cell("driver") ?? "",
    evcoId: cell("evco_id") ?? "",
    // An unknown type is reported above; the registry's check then stops at it.
    type: type ?? (rawType as IdentificationType),
    uid: cell("uid"),
    rfidType: rfidType as RfidType | null,
    printedNumber: cell("printed_number"),
    expiresAt,
    // A PIN is taken as written (blanks at its ends are the registry's problem, never trimmed away here).
    pin: row.pin ? row.pin : null,
    pinHash: cell("pin_hash"),
    ...(status === undefined ? {} : { status: status as IdentificationStatus }),
  };
  return { input, problems };
}

export interface ImportRegistry {
  register(inputs: readonly IdentificationInput[]): Promise<RegistrationOutcome[]>;
}

export interface ImportDeps {
  registry: ImportRegistry;
  out: (line: string) => void;
  read?: (file: string) => Promise<string>;
}

export interface ImportSummary {
  created: number;
  updated: number;
  unchanged: number;
  bad: number;
}

/** Runs the import; resolves with the process exit code (0 all good, 1 some rows bad, 2 unusable file or usage, 3 stopped). */
export async function runIdentificationsImport(argv: readonly string[], deps: ImportDeps): Promise<number> {
  const { out } = deps;
  const args = parseArgs(argv);
  if (typeof args === "string") {
    out(`${args}\n${USAGE}`);
    return 2;
  }
  let text: string;
  try {
    text = await (deps.read ?? ((file) => readFile(file, "utf8")))(args.file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    out(`${args.file}: ${code === "ENOENT" ? "no such file" : `cannot be read (${code ?? String(error)})`}`);
    return 2;
  }
  let records: CsvRecord[];
  try {
    records = parseCsv(text);
  } catch (error) {
    out(`${args.file}: ${error instanceof Error ? error.message : String(error)}; nothing imported`);
    return 2;
  }
  const [header, ...rows] = records;
  const columns = header?.fields.map((name) => name.trim().toLowerCase()) ?? [];
  const unusable = headerProblem(columns);
  if (unusable) {
    out(`${args.file}: ${unusable}; nothing imported`);
    return 2;
  }

  const bad = new Map<number, string[]>();
  const good: Array<{ line: number; input: IdentificationInput }> = [];
  const credentials = new Map<string, number>();
  for (const record of rows) {
    if (record.fields.length !== columns.length) {
      bad.set(record.line, [`has ${record.fields.length} fields, the header has ${columns.length}`]);
      continue;
    }
    const row = Object.fromEntries(columns.map((column, i) => [column, record.fields[i]!])) as Partial<Record<Column, string>>;
    const { input, problems } = rowToInput(row);
    if (problems.length > 0) {
      bad.set(record.line, problems);
      continue;
    }
    // The same card twice would be registered once per batch, the later row winning on each run:
    // the first row stands, the others are bad.
    const key = IDENTIFICATION_TYPES.includes(input.type)
      ? credentialKey(input.type, { uid: input.uid ? uidKey(input.uid) : null, evcoId: input.evcoId })
      : null;
    const earlier = key === null ? undefined : credentials.get(key);
    if (earlier !== undefined) {
      bad.set(record.line, [`uid/evco_id: the same credential as line ${earlier}`]);
      continue;
    }
    if (key !== null) credentials.set(key, record.line);
    good.push({ line: record.line, input });
  }

  const summary: ImportSummary = { created: 0, updated: 0, unchanged: 0, bad: 0 };
  let stopped: string | null = null;
  for (let start = 0; start < good.length; start += args.batchSize) {
    const batch = good.slice(start, start + args.batchSize);
    let outcomes: RegistrationOutcome[];
    try {
      outcomes = await deps.registry.register(batch.map((row) => row.input));
    } catch (error) {
      // The batch's transaction was rolled back: its rows and the later ones are not imported.
      stopped = `lines ${batch[0]!.line}-${batch.at(-1)!.line} were not imported (${error instanceof Error ? error.message : String(error)}); the rows before them were. Fix the cause and run the import again: it is idempotent.`;
      break;
    }
    for (const [i, outcome] of outcomes.entries()) {
      const { line } = batch[i]!;
      if (outcome.ok) summary[outcome.change]++;
      else bad.set(line, outcome.problems);
    }
  }

  for (const line of [...bad.keys()].sort((a, b) => a - b)) out(`line ${line}: ${bad.get(line)!.join("; ")}`);
  summary.bad = bad.size;
  const total = rows.length;
  out(
    `${stopped ? "import stopped" : "imported"}: ${summary.created} created, ${summary.updated} updated, ${summary.unchanged} unchanged, ${summary.bad} bad (${total} ${total === 1 ? "row" : "rows"})`,
  );
  if (stopped) {
    out(stopped);
    return 3;
  }
  return summary.bad > 0 ? 1 : 0;
}

function headerProblem(columns: readonly string[]): string | null {
  if (columns.length === 0) return "empty: a header row is required (driver,evco_id,type,uid,...)";
  const missing = REQUIRED_COLUMNS.filter((c) => !columns.includes(c));
  if (missing.length > 0) return `the header has no ${missing.join(", ")} column (required: ${REQUIRED_COLUMNS.join(", ")})`;
  // A misspelt column would drop its values silently: refused, like a missing one.
  const unknown = columns.filter((c) => !COLUMNS.includes(c));
  if (unknown.length > 0) return `unknown column ${unknown.map((c) => `"${c}"`).join(", ")} (known: ${COLUMNS.join(", ")})`;
  const repeated = columns.find((c, i) => columns.indexOf(c) !== i);
  if (repeated !== undefined) return `the column "${repeated}" appears twice`;
  return null;
}

function parseArgs(argv: readonly string[]): { file: string; batchSize: number } | string {
  const files: string[] = [];
  let batchSize = DEFAULT_BATCH_SIZE;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--batch-size") {
      batchSize = Number(argv[++i]);
      if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5_000) return "--batch-size must be an integer from 1 to 5000";
    } else if (arg.startsWith("--")) {
      return `unknown option ${arg}`;
    } else {
      files.push(arg);
    }
  }
  if (files.length !== 1) return files.length === 0 ? "a CSV file is required" : "one CSV file at a time";
  return { file: files[0]!, batchSize };
}
