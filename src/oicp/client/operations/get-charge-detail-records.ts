// eRoamingGetChargeDetailRecords v2.2 (docs/oicp.md#get-cdrs): the CDRs Hubject holds for the EMP,
// in pages of at most 2000; a safe read, so it is retried on transient failures. Hubject does not
// track what was downloaded: callers de-duplicate by SessionID.
import { stringify as stringifyLossless } from "lossless-json";
import { asArray, isRecord } from "../../../lib/json.js";
import { parseOicpJson } from "../../wire/decimal.js";
import { SESSION_ID } from "../../wire/identifiers.js";
import { type OicpChargeDetailRecord, type OicpGetChargeDetailRecords, oicpPaths } from "../../wire/types.js";
import { readStatusCode } from "../answer.js";
import { badResponse, errorForStatus, HubjectError } from "../errors.js";
import type { HubjectClient } from "../hubject.client.js";

/** GetChargeDetailRecords pages hold at most 2000 records (docs/oicp.md#emp-operations). */
export const MAX_CDR_PAGE_SIZE = 2000;
export const DEFAULT_CDR_PAGE_SIZE = 100;

export interface CdrQuery {
  from: Date;
  to: Date;
  sessionIds?: string[];
  cdrForwarded?: boolean;
}

export interface CdrPage {
  /** The records read leniently (HubProviderId renamed, numbers in strings read); ones without SessionID/EvseID left out. */
  records: OicpChargeDetailRecord[];
  /** Every record as the exact JSON text Hubject sent (numbers digit for digit): what the back-fill stores. */
  texts: string[];
  last: boolean;
  totalPages: number;
}

/** One page; the caller pages (or uses chargeDetailRecordPages). */
export async function getChargeDetailRecords(
  client: HubjectClient,
  req: CdrQuery & { page?: number; size?: number },
): Promise<{ records: OicpChargeDetailRecord[]; last: boolean; totalPages: number }> {
  const { records, last, totalPages } = await readCdrPage(client, req);
  return { records, last, totalPages };
}

async function readCdrPage(client: HubjectClient, req: CdrQuery & { page?: number; size?: number }): Promise<CdrPage> {
  const page = req.page ?? 0;
  const size = req.size ?? DEFAULT_CDR_PAGE_SIZE;
  if (!Number.isInteger(page) || page < 0) throw new HubjectError("INVALID_REQUEST", `page must be an integer >= 0, got ${page}`);
  if (!Number.isInteger(size) || size < 1 || size > MAX_CDR_PAGE_SIZE) {
    throw new HubjectError("INVALID_REQUEST", `size must be an integer in 1..${MAX_CDR_PAGE_SIZE}, got ${size}`);
  }
  if (Number.isNaN(req.from.getTime()) || Number.isNaN(req.to.getTime()) || req.from > req.to) {
    throw new HubjectError("INVALID_REQUEST", "from and to must be valid dates with from <= to");
  }
  const badSessionIds = (req.sessionIds ?? []).filter((id) => !SESSION_ID.test(id));
  if (badSessionIds.length > 0) throw new HubjectError("INVALID_REQUEST", `not OICP SessionIDs: ${badSessionIds.join(", ")}`);

  const body: OicpGetChargeDetailRecords = {
    ProviderID: client.providerId,
    From: toOicpDateTime(req.from, "floor"),
    To: toOicpDateTime(req.to, "ceil"),
    ...(req.sessionIds && req.sessionIds.length > 0 ? { SessionID: [...req.sessionIds] } : {}),
    // CDRForwarded, not the OAS's misspelt CDRForwarder (docs/oicp.md#e6).
    ...(req.cdrForwarded !== undefined ? { CDRForwarded: req.cdrForwarded } : {}),
  };
  const answer = await client.post({
    operation: "GetChargeDetailRecords",
    path: oicpPaths.getChargeDetailRecords(client.providerId),
    body,
    timeoutMs: client.requestTimeoutMs,
    idempotent: true,
    searchParams: { page, size },
  });
  const json = client.expectOk(answer);
  const { processId } = answer;
  if (!isRecord(json)) throw badResponse("GetChargeDetailRecords: body is not a JSON object", processId);

  const status = readStatusCode(json.StatusCode);
  if (status && status.code !== "000") throw errorForStatus("GetChargeDetailRecords", status, 200, processId);
  if (json.content !== undefined && json.content !== null && !Array.isArray(json.content)) {
    throw badResponse("GetChargeDetailRecords: content is not an array", processId);
  }
  const records: OicpChargeDetailRecord[] = [];
  for (const raw of asArray(json.content)) {
    const record = toChargeDetailRecord(raw);
    if (record) records.push(record);
    else client.log.warn({ operation: "GetChargeDetailRecords", processId }, "dropped a CDR without SessionID/EvseID");
  }
  const texts = exactRecordTexts(answer.exchange.type === "response" ? answer.exchange.text : "");
  const number = typeof json.number === "number" ? json.number : page;
  const totalPages = typeof json.totalPages === "number" ? json.totalPages : texts.length > 0 ? number + 1 : 0;
  const last = typeof json.last === "boolean" ? json.last : number + 1 >= totalPages;
  return { records, texts, last, totalPages };
}

/** The page's records as the exact text of each (lossless-json keeps every number's digits). */
function exactRecordTexts(text: string): string[] {
  const page = parseOicpJson(text);
  return isRecord(page) ? asArray(page.content).map((record) => stringifyLossless(record) ?? "null") : [];
}

/**
 * Every CDR of [from, to], page by page (for a back-fill job). Each page is retried like any safe
 * call; a page that still fails ends the iteration with its HubjectError (the pages already
 * yielded stay valid). Empty pages are not yielded. CDRs arriving meanwhile can shift the pages:
 * de-duplicate by SessionID (docs/oicp.md#get-cdrs).
 */
export async function* chargeDetailRecordPages(
  client: HubjectClient,
  req: CdrQuery & { pageSize?: number },
): AsyncGenerator<OicpChargeDetailRecord[], void, undefined> {
  for await (const page of cdrPages(client, req)) if (page.records.length > 0) yield page.records;
}

/** The same pages as the exact text of every record, the unreadable ones included. */
export async function* chargeDetailRecordTexts(
  client: HubjectClient,
  req: CdrQuery & { pageSize?: number },
): AsyncGenerator<string[], void, undefined> {
  for await (const page of cdrPages(client, req)) if (page.texts.length > 0) yield page.texts;
}

async function* cdrPages(client: HubjectClient, req: CdrQuery & { pageSize?: number }): AsyncGenerator<CdrPage, void, undefined> {
  for (let page = 0; ; page++) {
    const result = await readCdrPage(client, {
      from: req.from,
      to: req.to,
      ...(req.cdrForwarded !== undefined ? { cdrForwarded: req.cdrForwarded } : {}),
      ...(req.sessionIds !== undefined ? { sessionIds: req.sessionIds } : {}),
      size: req.pageSize ?? DEFAULT_CDR_PAGE_SIZE,
      page,
    });
    yield result;
    if (result.last) return;
    if (result.texts.length === 0) {
      // A page in the middle cannot be empty; stop rather than page on forever.
      client.log.warn(
        { operation: "GetChargeDetailRecords", page, totalPages: result.totalPages },
        "empty CDR page that is not the last: stopping",
      );
      return;
    }
  }
}

/** `YYYY-MM-DDThh:mm:ss+00:00`, the spec's format with an explicit offset (docs/oicp.md#datetime). */
export function toOicpDateTime(date: Date, rounding: "floor" | "ceil"): string {
  const ms = date.getTime();
  const rounded = rounding === "floor" ? Math.floor(ms / 1000) * 1000 : Math.ceil(ms / 1000) * 1000;
  return new Date(rounded).toISOString().replace(/\.\d{3}Z$/, "+00:00");
}

function toChargeDetailRecord(raw: unknown): OicpChargeDetailRecord | null {
  if (!isRecord(raw) || typeof raw.SessionID !== "string" || typeof raw.EvseID !== "string") return null;
  const record = { ...raw } as Record<string, unknown>;
  // The EMP OAS spells it HubProviderId (docs/oicp.md#e5): read both, expose HubProviderID.
  if (record.HubProviderID == null && typeof record.HubProviderId === "string") record.HubProviderID = record.HubProviderId;
  delete record.HubProviderId;
  // Some CPOs put numbers in strings (docs/oicp.md#lenient-reading).
  for (const key of ["ConsumedEnergy", "MeterValueStart", "MeterValueEnd"]) {
    const value = record[key];
    if (typeof value === "string" && value.trim() !== "" && Number.isFinite(Number(value))) record[key] = Number(value);
  }
  if (!isRecord(record.Identification)) record.Identification = {};
  return record as unknown as OicpChargeDetailRecord;
}
