// Answer like Hubject, post like Hubject (on the shared helpers of src/lib/http.ts).
import { randomUUID } from "node:crypto";
import http, { type ServerResponse } from "node:http";
import https from "node:https";
import { sendJson as sendJsonBody } from "../lib/http.js";

export { readBody, sendText } from "../lib/http.js";

/** Largest request the simulated Hubject reads. */
export const MAX_BODY_BYTES = 1_000_000;

/** Hubject answers application/json;charset=UTF-8 with a Process-ID header (docs/oicp.md#transport). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonBody(res, status, body, { "process-id": randomUUID() });
}

export interface PostResult {
  status: number;
  text: string;
}

/** One POST without keep-alive (agent: false), so no socket outlives the simulator. */
export function postJson(url: string, body: unknown, signal: AbortSignal, timeoutMs: number): Promise<PostResult> {
  const text = JSON.stringify(body);
  const target = new URL(url);
  const client = target.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(
      target,
      {
        method: "POST",
        agent: false,
        signal,
        timeout: timeoutMs,
        headers: { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }));
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end(text);
  });
}
