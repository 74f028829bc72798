// @ts-check
// The driver's page: a plain ES module, no bundler. "@emp/client" is the generated typed-document
// module (src/client/generated/graphql.ts, compiled), "@emp/client/transport" its typed helpers and
// "graphql-ws" the graphql-ws browser client; the import map in index.html points at them.
// Type-checked against the generated types by `tsc -p src/app-page` (test/app-page/page-types.test.ts).

import {
  EvseDocument,
  MySessionsDocument,
  OneSessionDocument,
  SessionUpdatedDocument,
  StartChargingDocument,
  StopChargingDocument,
} from "@emp/client";
import { OperationError, request, subscribe } from "@emp/client/transport";
import { createClient } from "graphql-ws";

/** @typedef {import("@emp/client").ChargingSessionFieldsFragment} Session */
/** @typedef {import("@emp/client").ChargingSessionStatus} SessionStatus */
/** @typedef {import("@emp/client").EvseStatus} EvseStatus */
/** @typedef {{ evseId: string, label: string, powerKw: number, status?: string }} CatalogueEvse */
/** @typedef {{ t: number, kwh: number, final?: boolean }} Sample */

/** @type {{ graphqlPath: string, catalogue: boolean, devTokens: boolean }} */
const config = JSON.parse(byId("page-config").textContent ?? "{}");
const TOKEN_KEY = "emp-app-page-token";
const FINAL = new Set(["COMPLETED", "REJECTED", "FAILED"]);
const STOPPABLE = new Set(["ACCEPTED", "CHARGING", "OUTCOME_UNKNOWN"]);

/** @type {Record<string, string>} */
const STATUS_HELP = {
  REQUESTED: "Sent to Hubject, waiting for the charging operator.",
  ACCEPTED: "The charger accepted. Energy starts flowing shortly.",
  CHARGING: "Energy is flowing. Figures update as the charger reports them.",
  STOP_REQUESTED: "Stopping: waiting for the charger.",
  CHARGING_ENDED: "Energy stopped. The final figures follow with the charge detail record.",
  COMPLETED: "Done. The charge detail record below has the billable figures.",
  OUTCOME_UNKNOWN: "The charger did not confirm in time. It may still start; this page updates when it reports.",
  REJECTED: "The charging operator refused the start.",
  FAILED: "The charger reported an error.",
};

const state = {
  /** @type {string | null} */ token: null,
  /** @type {import("graphql-ws").Client | null} */ ws: null,
  /** @type {(() => void) | null} */ unsubscribe: null,
  /** @type {Map<string, Session>} */ sessions: new Map(),
  /** @type {string[]} */ historyOrder: [],
  /** @type {string | null} */ historyCursor: null,
  /** @type {string | null} */ currentId: null,
  /** @type {Sample[]} */ samples: [],
  /** @type {CatalogueEvse[]} */ catalogue: [],
  starting: false,
  stopping: false,
};

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" });

// ---------------------------------------------------------------- helpers

/** @param {string} id */
function byId(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
}
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (byId(id));
/** @param {string} id */
const button = (id) => /** @type {HTMLButtonElement} */ (byId(id));

/** @param {string} id @param {string} text */
function setText(id, text) {
  byId(id).textContent = text;
}

const http = () => ({ url: config.graphqlPath, token: state.token });

/** @param {unknown} error */
function messageOf(error) {
  if (error instanceof OperationError) {
    if (error.code === "UNAUTHENTICATED") return `${error.message} (sign in again)`;
    return error.message;
  }
  if (error instanceof Error) return error.message;
  return "Something went wrong.";
}

function idempotencyKey() {
  if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** @param {number | null | undefined} kwh */
const kwhText = (kwh) => (kwh == null ? "—" : kwh.toFixed(3));
/** @param {string | null | undefined} iso */
const timeText = (iso) => (iso ? timeFormat.format(new Date(iso)) : "—");
/** @param {string | null | undefined} iso */
const dateTimeText = (iso) => (iso ? dateTimeFormat.format(new Date(iso)) : "—");
/** @param {number} ms */
function durationText(ms) {
  const seconds = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** The token's claims, for display only (the gateway verifies it). @param {string} token */
function claimsOf(token) {
  try {
    const part = token.split(".")[1] ?? "";
    const json = atob(
      part
        .replace(/-/g, "+")
        .replace(/_/g, "/")
        .padEnd(Math.ceil(part.length / 4) * 4, "="),
    );
    return /** @type {{ sub?: string, evco_ids?: string[] }} */ (JSON.parse(json));
  } catch {
    return {};
  }
}

// ---------------------------------------------------------------- sign-in and connection

/** @param {string} token */
async function signIn(token) {
  setText("sign-in-error", "");
  state.token = token;
  try {
    // One read proves the token and fills the history.
    await loadHistory(true);
  } catch (error) {
    state.token = null;
    setText("sign-in-error", messageOf(error));
    return;
  }
  sessionStorage.setItem(TOKEN_KEY, token);
  const claims = claimsOf(token);
  setText("driver-name", claims.sub ?? "unknown driver");
  setText("driver-contracts", (claims.evco_ids ?? []).join(", ") || "none in the token");
  byId("signed-out").hidden = true;
  byId("signed-in").hidden = false;
  connect();
  void refreshEvseStatus();
  updateButtons();
  // Resume a session still going (a reload, another tab).
  const active = state.historyOrder.map((id) => state.sessions.get(id)).find((s) => s && !FINAL.has(s.status));
  if (active && !state.currentId) showSession(active.id);
}

function signOut() {
  state.unsubscribe?.();
  state.unsubscribe = null;
  void state.ws?.dispose();
  state.ws = null;
  state.token = null;
  state.sessions.clear();
  state.historyOrder = [];
  state.currentId = null;
  state.samples = [];
  sessionStorage.removeItem(TOKEN_KEY);
  byId("signed-out").hidden = false;
  byId("signed-in").hidden = true;
  setConnection("offline", "Not connected");
  renderSession();
  renderHistory();
  updateButtons();
}

/** @param {"offline" | "connecting" | "live"} kind @param {string} text */
function setConnection(kind, text) {
  const element = byId("connection");
  element.dataset.state = kind;
  element.textContent = text;
}

function connect() {
  const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${config.graphqlPath}`;
  setConnection("connecting", "Connecting…");
  const client = createClient({
    url,
    lazy: false,
    connectionParams: () => ({ authorization: `Bearer ${state.token}` }),
    retryAttempts: 20,
    // 4401/4403: the token is not (or no longer) valid; reconnecting with it cannot help.
    shouldRetry: (event) => !(event && typeof event === "object" && "code" in event && (event.code === 4401 || event.code === 4403)),
    onNonLazyError: () => undefined,
    on: {
      connecting: () => setConnection("connecting", "Connecting…"),
      connected: () => {
        setConnection("live", "Live");
        // Events carry the whole session: after a (re)connect, read the current state once.
        if (state.currentId) void resync(state.currentId);
      },
      closed: (event) => {
        const code = event && typeof event === "object" && "code" in event ? event.code : 0;
        if (code === 4403 || code === 4401) {
          setConnection("offline", "Signed out");
          setText("sign-in-error", "Your token expired or is not valid. Sign in again.");
        } else if (state.token) {
          setConnection("connecting", "Reconnecting…");
        }
      },
    },
  });
  state.ws = client;
  // All of the driver's sessions: the one we start is covered before we know its id.
  state.unsubscribe = subscribe(
    client,
    SessionUpdatedDocument,
    {},
    {
      next: (data) => applySession(data.sessionUpdated),
      error: (error) => setText("stop-error", `Live updates stopped: ${messageOf(error)}`),
    },
  );
}

/** @param {string} id */
async function resync(id) {
  try {
    const data = await request(http(), OneSessionDocument, { id });
    if (data.chargingSession) applySession(data.chargingSession);
  } catch {
    // The next event or reconnect tries again.
  }
}

// ---------------------------------------------------------------- sessions

/** Newer state only: an event older than what we hold is ignored. @param {Session} session */
function applySession(session) {
  const known = state.sessions.get(session.id);
  if (known && Date.parse(known.updatedAt) > Date.parse(session.updatedAt)) return;
  state.sessions.set(session.id, session);
  if (!state.historyOrder.includes(session.id)) state.historyOrder.unshift(session.id);
  if (session.id === state.currentId) {
    recordSample(session);
    renderSession();
    if (FINAL.has(session.status)) void refreshEvseStatus();
  }
  renderHistory();
  updateButtons();
}

/** @param {Session} session */
function recordSample(session) {
  const cdr = session.chargeDetailRecord;
  if (cdr) {
    // A CDR may lack its energy or charging times (Hubject forwards such CDRs): the session's own figures stand in.
    const t = Date.parse(cdr.chargingEnd ?? cdr.sessionEnd ?? session.updatedAt);
    const kwh = cdr.consumedEnergyKwh ?? session.consumedEnergyKwh;
    if (kwh != null && !state.samples.some((s) => s.final)) state.samples.push({ t, kwh, final: true });
    return;
  }
  if (session.consumedEnergyKwh == null || !session.chargingStartedAt) return;
  const t = Date.parse(session.lastEventAt ?? session.updatedAt);
  const last = state.samples[state.samples.length - 1];
  if (last && last.t === t && last.kwh === session.consumedEnergyKwh) return;
  state.samples.push({ t, kwh: session.consumedEnergyKwh });
  state.samples.sort((a, b) => a.t - b.t);
}

/** @param {string} id */
function showSession(id) {
  state.currentId = id;
  state.samples = [];
  const session = state.sessions.get(id);
  if (session) recordSample(session);
  renderSession();
  renderHistory();
  updateButtons();
  void resync(id);
}

async function start() {
  const evseId = input("evse-id").value.trim();
  setText("start-error", "");
  setText("stop-error", "");
  if (!evseId) {
    setText("start-error", "Choose a charging point first.");
    return;
  }
  state.starting = true;
  button("start").textContent = "Starting…";
  updateButtons();
  try {
    const data = await request(http(), StartChargingDocument, { input: { evseId, idempotencyKey: idempotencyKey() } });
    const { session, error } = data.startCharging;
    if (error) setText("start-error", error.retryable ? `${error.message} You can try again.` : error.message);
    if (session) {
      applySession(session); // unless an event already brought a newer state
      showSession(session.id);
    }
  } catch (error) {
    setText("start-error", messageOf(error));
  } finally {
    state.starting = false;
    button("start").textContent = "Start charging";
    updateButtons();
  }
}

async function stop() {
  const sessionId = state.currentId;
  if (!sessionId) return;
  setText("stop-error", "");
  state.stopping = true;
  button("stop").textContent = "Stopping…";
  updateButtons();
  try {
    const data = await request(http(), StopChargingDocument, { input: { sessionId, idempotencyKey: idempotencyKey() } });
    const { session, error } = data.stopCharging;
    if (error) setText("stop-error", error.message);
    if (session) applySession(session);
  } catch (error) {
    setText("stop-error", messageOf(error));
  } finally {
    state.stopping = false;
    button("stop").textContent = "Stop charging";
    updateButtons();
  }
}

/** @param {boolean} reset */
async function loadHistory(reset) {
  const data = await request(http(), MySessionsDocument, { first: 5, after: reset ? null : state.historyCursor });
  const { edges, pageInfo } = data.chargingSessions;
  if (reset) state.historyOrder = [];
  for (const { node } of edges) {
    const known = state.sessions.get(node.id);
    if (!known || Date.parse(known.updatedAt) <= Date.parse(node.updatedAt)) state.sessions.set(node.id, node);
    if (!state.historyOrder.includes(node.id)) state.historyOrder.push(node.id);
  }
  state.historyCursor = pageInfo.hasNextPage ? pageInfo.endCursor : null;
  byId("more").hidden = !pageInfo.hasNextPage;
  renderHistory();
}

// ---------------------------------------------------------------- charging points

async function loadCatalogue() {
  const select = /** @type {HTMLSelectElement} */ (byId("evse-select"));
  if (!config.catalogue) {
    byId("evse-select-field").hidden = true;
    return;
  }
  try {
    const response = await fetch("/app/api/catalogue");
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    state.catalogue = /** @type {CatalogueEvse[]} */ (await response.json());
  } catch {
    byId("evse-select-field").hidden = true;
    return;
  }
  select.replaceChildren(
    new Option("Choose a charging point…", ""),
    ...state.catalogue.map((evse) => new Option(`${evse.label} · ${evse.evseId}`, evse.evseId)),
  );
}

async function refreshEvseStatus() {
  const evseId = input("evse-id").value.trim();
  const badge = byId("evse-status");
  if (!evseId) {
    badge.textContent = "—";
    badge.dataset.status = "UNKNOWN";
    return;
  }
  /** @type {string | undefined} */
  let status = state.catalogue.find((evse) => evse.evseId === evseId)?.status;
  if (state.token) {
    try {
      const data = await request(http(), EvseDocument, { id: evseId });
      status = data.evse?.status ?? "NOT_FOUND";
    } catch (error) {
      status = status ?? "UNKNOWN";
      setText("start-error", messageOf(error));
    }
  }
  if (input("evse-id").value.trim() !== evseId) return; // the driver picked another meanwhile
  badge.textContent = (status ?? "UNKNOWN").replace(/_/g, " ");
  badge.dataset.status = status ?? "UNKNOWN";
}

// ---------------------------------------------------------------- rendering

function updateButtons() {
  const current = state.currentId ? state.sessions.get(state.currentId) : undefined;
  const busy = current !== undefined && !FINAL.has(current.status);
  button("start").disabled = !state.token || busy || state.starting || !input("evse-id").value.trim();
  button("stop").disabled = !state.token || !current || !STOPPABLE.has(current.status) || state.stopping;
}

function renderSession() {
  const session = state.currentId ? state.sessions.get(state.currentId) : undefined;
  const status = byId("session-status");
  status.textContent = session ? session.status.replace(/_/g, " ") : "No session";
  status.dataset.status = session?.status ?? "NONE";
  setText(
    "session-status-help",
    session
      ? `${STATUS_HELP[session.status] ?? ""}${session.stale ? " No news from the charger for a while: the figures may be behind." : ""}`
      : "Pick a charging point and start.",
  );
  const kwh = session?.chargeDetailRecord?.consumedEnergyKwh ?? session?.consumedEnergyKwh ?? 0;
  setText("energy", kwh.toFixed(3));
  const goal = Math.max(1, Number(input("goal").value) || 20);
  const progress = /** @type {HTMLProgressElement} */ (byId("energy-progress"));
  progress.max = goal;
  progress.value = Math.min(kwh, goal);
  progress.setAttribute("aria-valuetext", `${kwh.toFixed(1)} of ${goal} kWh`);
  setText("energy-percent", `${Math.min(100, Math.round((kwh / goal) * 100))} % of ${goal} kWh`);
  setText("fact-evse", session?.evseId ?? "—");
  setText("fact-session", session?.id ?? "—");
  setText("fact-requested", timeText(session?.requestedAt));
  setText("fact-charging", timeText(session?.chargingStartedAt));
  setText("fact-source", session?.figuresSource ? session.figuresSource.replace(/_/g, " ").toLowerCase() : "—");
  setText("fact-updated", timeText(session?.updatedAt));
  renderChart(session);
  renderCdr(session);
}

/** @param {Session | undefined} session */
function renderCdr(session) {
  const cdr = session?.chargeDetailRecord;
  byId("cdr-card").hidden = !cdr;
  if (!cdr) return;
  // The exact decimal, as it will be invoiced; "—" when the CPO sent none (see the notes).
  setText("cdr-energy", cdr.consumedEnergyKwhDecimal ?? "—");
  setText("cdr-charging", `${dateTimeText(cdr.chargingStart)} – ${timeText(cdr.chargingEnd)}`);
  setText(
    "cdr-duration",
    cdr.chargingStart && cdr.chargingEnd ? durationText(Date.parse(cdr.chargingEnd) - Date.parse(cdr.chargingStart)) : "—",
  );
  setText("cdr-session", `${timeText(cdr.sessionStart)} – ${timeText(cdr.sessionEnd)}`);
  setText(
    "cdr-meter",
    cdr.meterValueStart != null && cdr.meterValueEnd != null
      ? `${cdr.meterValueStart.toFixed(3)} → ${cdr.meterValueEnd.toFixed(3)} kWh`
      : "not reported",
  );
  setText("cdr-hubject", cdr.hubjectSessionId);
  byId("cdr-notes-row").hidden = cdr.anomalies.length === 0;
  setText("cdr-notes", cdr.anomalies.map((a) => `${a.field}: ${a.detail}`).join("; "));
}

const SVG = "http://www.w3.org/2000/svg";
/** @param {string} name @param {Record<string, string | number>} attributes @param {string} [text] */
function svg(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** A round tick step giving about four steps up to `value`. @param {number} value */
function tickStep(value) {
  if (value <= 0) return 0.25;
  const rough = value / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].map((step) => step * power).find((candidate) => candidate >= rough) ?? 10 * power;
}

/** kWh over time since charging started: inline SVG, one point per reading. @param {Session | undefined} session */
function renderChart(session) {
  const chart = byId("chart");
  const keep = [byId("chart-title"), byId("chart-desc")];
  chart.replaceChildren(...keep);
  // Drawn at the size it is shown, so that text is never stretched.
  const width = Math.max(320, Math.round(chart.getBoundingClientRect().width) || 640);
  const height = 220;
  chart.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const pad = { left: 56, right: 20, top: 30, bottom: 30 };
  const startedAt = session?.chargingStartedAt ? Date.parse(session.chargingStartedAt) : state.samples[0]?.t;
  const points = startedAt === undefined ? [] : [{ t: startedAt, kwh: 0 }, ...state.samples.filter((s) => s.t >= startedAt)];
  if (points.length < 2 || startedAt === undefined) {
    chart.append(
      svg("text", { x: width / 2, y: height / 2, "text-anchor": "middle", class: "empty" }, "Readings appear here while charging"),
    );
    setText("chart-desc", "No readings yet.");
    return;
  }
  const spanMs = Math.max(1000, ...points.map((p) => p.t - startedAt));
  const step = tickStep(Math.max(...points.map((p) => p.kwh)));
  const steps = Math.max(1, Math.ceil(Math.max(...points.map((p) => p.kwh)) / step));
  const top = step * steps;
  const x = (/** @type {number} */ t) => pad.left + ((t - startedAt) / spanMs) * (width - pad.left - pad.right);
  const y = (/** @type {number} */ kwh) => height - pad.bottom - (kwh / top) * (height - pad.top - pad.bottom);
  for (let i = 0; i <= steps; i++) {
    const value = step * i;
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(value), y2: y(value), class: "grid-line" }));
    chart.append(
      svg("text", { x: pad.left - 8, y: y(value) + 4, "text-anchor": "end", class: "axis-label" }, String(Number(value.toFixed(2)))),
    );
  }
  chart.append(svg("text", { x: pad.left - 8, y: 14, "text-anchor": "end", class: "axis-label" }, "kWh"));
  chart.append(svg("text", { x: pad.left, y: height - 8, class: "axis-label" }, "0 s"));
  chart.append(svg("text", { x: width - pad.right, y: height - 8, "text-anchor": "end", class: "axis-label" }, durationText(spanMs)));
  const coordinates = points.map((p) => `${x(p.t).toFixed(1)},${y(p.kwh).toFixed(1)}`);
  const last = points[points.length - 1] ?? { t: startedAt, kwh: 0 };
  chart.append(svg("path", { d: `M ${coordinates.join(" L ")} L ${x(last.t).toFixed(1)},${y(0).toFixed(1)} Z`, class: "area" }));
  chart.append(svg("polyline", { points: coordinates.join(" "), class: "line" }));
  for (const p of points.slice(1))
    chart.append(svg("circle", { cx: x(p.t), cy: y(p.kwh), r: p.final ? 5 : 3, class: p.final ? "final" : "point" }));
  setText("chart-desc", `${last.kwh.toFixed(3)} kWh after ${durationText(last.t - startedAt)}, ${points.length - 1} readings.`);
}

function renderHistory() {
  const rows = byId("history-rows");
  if (!state.token) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 4;
    cell.className = "muted";
    cell.textContent = "Sign in to see your sessions.";
    row.append(cell);
    rows.replaceChildren(row);
    return;
  }
  const sessions = state.historyOrder.map((id) => state.sessions.get(id)).filter((s) => s !== undefined);
  if (sessions.length === 0) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 4;
    cell.className = "muted";
    cell.textContent = "No sessions yet.";
    row.append(cell);
    rows.replaceChildren(row);
    return;
  }
  rows.replaceChildren(
    ...sessions.map((session) => {
      const row = document.createElement("tr");
      if (session.id === state.currentId) row.setAttribute("aria-current", "true");
      const when = document.createElement("td");
      const link = document.createElement("a");
      link.href = `#${session.id}`;
      link.textContent = dateTimeText(session.requestedAt);
      link.addEventListener("click", (event) => {
        event.preventDefault();
        showSession(session.id);
      });
      when.append(link);
      const evse = document.createElement("td");
      evse.className = "mono nowrap";
      evse.textContent = session.evseId;
      const status = document.createElement("td");
      const badge = document.createElement("span");
      badge.className = "badge";
      badge.dataset.status = session.status;
      badge.textContent = session.status.replace(/_/g, " ");
      status.append(badge);
      const energy = document.createElement("td");
      energy.className = "num";
      energy.textContent = kwhText(session.chargeDetailRecord?.consumedEnergyKwh ?? session.consumedEnergyKwh);
      row.append(when, evse, status, energy);
      return row;
    }),
  );
}

// ---------------------------------------------------------------- wiring

function wire() {
  const devForm = /** @type {HTMLFormElement} */ (byId("dev-token-form"));
  devForm.hidden = !config.devTokens;
  if (!config.devTokens) /** @type {HTMLDetailsElement} */ (byId("paste-token")).open = true;
  devForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    setText("sign-in-error", "");
    try {
      const response = await fetch("/app/api/dev-token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ driverId: input("driver-id").value.trim(), evcoId: input("evco-id").value.trim() }),
      });
      const body = /** @type {{ token?: string, error?: string }} */ (await response.json());
      if (!response.ok || !body.token) throw new Error(body.error ?? `HTTP ${response.status}`);
      await signIn(body.token);
    } catch (error) {
      setText("sign-in-error", messageOf(error));
    }
  });
  byId("paste-token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const token = /** @type {HTMLTextAreaElement} */ (byId("token-input")).value.trim().replace(/^Bearer\s+/i, "");
    void signIn(token);
  });
  byId("sign-out").addEventListener("click", signOut);
  byId("evse-select").addEventListener("change", (event) => {
    input("evse-id").value = /** @type {HTMLSelectElement} */ (event.target).value;
    updateButtons();
    void refreshEvseStatus();
  });
  input("evse-id").addEventListener("change", () => void refreshEvseStatus());
  input("evse-id").addEventListener("input", updateButtons);
  input("goal").addEventListener("input", renderSession);
  window.addEventListener("resize", () => renderChart(state.currentId ? state.sessions.get(state.currentId) : undefined));
  button("start").addEventListener("click", () => void start());
  button("stop").addEventListener("click", () => void stop());
  button("more").addEventListener("click", () => void loadHistory(false).catch((error) => setText("sign-in-error", messageOf(error))));
}

wire();
renderSession();
await loadCatalogue();
const saved = sessionStorage.getItem(TOKEN_KEY);
if (saved) await signIn(saved);
document.body.dataset.ready = "true";
