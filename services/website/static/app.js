/* House trades: the website. No build step, no external requests: plain JS against the /v1 API.
 * Pages are hash routes: #/ dashboard, #/trades?filters, #/members, #/member/KEY, #/tickers,
 * #/ticker/SYM, #/filing/ID, #/trade/KEY, #/ops. Charts are inline SVG drawn here. */
"use strict";

const API_BASE = (document.querySelector('meta[name="api-base"]')?.content || "").replace(/\/$/, "");
const app = document.getElementById("app");
const statusBar = document.getElementById("status");

// ---------------------------------------------------------------- helpers

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

async function api(path, params) {
  const qs = params ? new URLSearchParams(clean(params)).toString() : "";
  let response;
  try {
    response = await fetch(API_BASE + path + (qs ? "?" + qs : ""), { headers: { Accept: "application/json" } });
  } catch (err) {
    throw new ApiError(0, { message: "The API cannot be reached. Check your connection and try again." });
  }
  let body = null;
  try { body = await response.json(); } catch (err) { body = null; }
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

function clean(params) {
  const out = {};
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") out[k] = v;
  return out;
}

const ESC = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ESC[c]);
const num = (n) => (n === null || n === undefined ? "—" : Number(n).toLocaleString("en-US"));
const money = (n) => (n === null || n === undefined ? "—" : "$" + Math.round(n).toLocaleString("en-US"));
function compactMoney(n) {
  if (n === null || n === undefined) return "—";
  const units = [[1e9, "B"], [1e6, "M"], [1e3, "K"]];
  for (const [size, unit] of units) if (Math.abs(n) >= size) return "$" + (n / size).toFixed(n / size >= 100 ? 0 : 1).replace(/\.0$/, "") + unit;
  return "$" + Math.round(n);
}
// A sum of ranges has no ceiling when one of its ranges has none (the API's null high sum).
function compactRange(lo, hi) {
  if (lo === null || lo === undefined) return "—";
  return hi === null || hi === undefined ? "over " + compactMoney(lo) : compactMoney(lo) + " – " + compactMoney(hi);
}
function range(lo, hi) {
  if (lo === null && hi === null) return "—";
  if (hi === null || hi === undefined) return "over " + money(lo);
  if (lo === hi) return money(lo);
  return money(lo) + " – " + money(hi);
}
const date = (d) => (d ? esc(d) : "—");
const OWNERS = { SP: "Spouse", JT: "Joint", DC: "Child" };
const owner = (o) => (o ? OWNERS[o] || o : "Self");
const side = (s, t) => (s ? `<span class="side ${esc(s)}" title="${esc(t || "")}">${esc(s)}</span>` : esc(t || "—"));
const pages = (offset, count, total) => (count ? `${num(offset + 1)}–${num(offset + count)} of ${num(total)}` : "");
function hashPager(route, params, offset, count, total, size = PAGE_SIZE) {
  // Previous/next links for a list page whose state lives in the hash (#/members?q=…&offset=50).
  const link = (to, label, rel) => {
    const q = new URLSearchParams(params);
    to ? q.set("offset", to) : q.delete("offset");
    return `<a href="#/${route}${q.toString() ? "?" + esc(q.toString()) : ""}" rel="${rel}">${label}</a>`;
  };
  const prev = offset > 0 ? link(Math.max(0, offset - size), "← Previous", "prev") : "";
  const next = offset + count < total ? link(offset + size, "Next →", "next") : "";
  return `<nav class="pager" aria-label="Pages">${prev}<span class="muted">${pages(offset, count, total)}</span>${next}</nav>`;
}
const memberLink = (key, name) => `<a href="#/member/${encodeURIComponent(key)}">${esc(name || key)}</a>`;
const tickerLink = (t) => (t ? `<a href="#/ticker/${encodeURIComponent(t)}">${esc(t)}</a>` : "—");

function setPage(html) { app.innerHTML = html; }
function card(label, value, sub) {
  return `<div class="card"><div class="label">${esc(label)}</div><div class="value">${value}</div>${sub ? `<div class="sub">${sub}</div>` : ""}</div>`;
}
function emptyState(text) { return `<div class="empty">${esc(text)}</div>`; }
function errorBox(err) {
  const message = err.body && err.body.message;
  if (err.status === 503 && message) return `<div class="error-box" data-state="missing">No data has been published yet. ${esc(message)}</div>`;
  if (err.status === 404) return `<div class="error-box" data-state="not-found">Not found: ${esc(message || "this page does not exist")}. <a href="#/">Back to the dashboard</a>.</div>`;
  if (err.status === 400) return `<div class="error-box" data-state="bad-request">Check the filters: ${esc(message || "the request was refused")}.</div>`;
  if (err.status === 0) return `<div class="error-box" data-state="offline">${esc(err.message)}</div>`;
  if (err.status >= 502 && err.status <= 504) {
    return `<div class="error-box" data-state="unavailable">The API did not answer in time (HTTP ${err.status} from the gateway): it may be starting or busy. Try again in a minute.</div>`;
  }
  return `<div class="error-box" data-state="error">The API failed (HTTP ${esc(err.status)})${message ? ": " + esc(message) : ""}. Try again later.</div>`;
}
function coverageNote(c) {
  // Trades come only from the PTRs that could be read: say how many could not, beside the numbers.
  if (!c || !c.ptr_filings) return "";
  if (!c.unreadable) return `<p class="coverage muted" data-unreadable="0">All ${num(c.ptr_filings)} PTR filings read.</p>`;
  const why = [[c.needs_ocr, "on paper, waiting for OCR"], [c.failed, "could not be read"], [c.missing, "not fetched"]]
    .filter(([n]) => n).map(([n, text]) => `${num(n)} ${text}`).join(", ");
  return `<p class="coverage" data-unreadable="${c.unreadable}"><strong>${num(c.unreadable)} filing${c.unreadable === 1 ? "" : "s"} not yet readable</strong> ` +
    `of ${num(c.ptr_filings)} PTRs (${why}): their trades are not counted here.</p>`;
}
function daysAgo(d) {
  if (!d) return null;
  return Math.max(0, Math.round((Date.now() - Date.parse(d + "T00:00:00Z")) / 86400000));
}
function feedLink(path, what) {
  return `<a class="feed" href="${esc(path)}" type="application/atom+xml">Atom feed of ${esc(what)}</a>`;
}

// ---------------------------------------------------------------- freshness banner

let healthCache = { at: 0, value: null };
async function health() {
  if (Date.now() - healthCache.at < 30000 && healthCache.value) return healthCache.value;
  try {
    healthCache = { at: Date.now(), value: await api("/v1/health") };
  } catch (err) {
    healthCache = { at: Date.now(), value: { status: "error", message: err.message } };
  }
  return healthCache.value;
}

async function showStatus() {
  const h = await health();
  statusBar.className = "status";
  statusBar.hidden = true;
  const version = document.getElementById("version");
  if (h.status === "ok" || h.status === "stale") {
    version.textContent = `Data version ${h.gold_version}, built ${h.built_at || "?"}` + (h.published_at ? `, published ${h.published_at}` : "");
  }
  if (h.status === "stale") {
    statusBar.hidden = false;
    statusBar.classList.add("stale");
    statusBar.dataset.state = "stale";
    statusBar.textContent = `The data may be out of date: it was last updated ${hoursText(h.freshness_hours)} ago ` +
      `(${h.built_at}). New filings since then are not shown yet.`;
  } else if (h.status === "missing") {
    statusBar.hidden = false;
    statusBar.classList.add("missing");
    statusBar.dataset.state = "missing";
    statusBar.textContent = "No data has been published yet: the pipeline has not completed a run. Pages will fill in after it does.";
  } else if (h.status === "error") {
    statusBar.hidden = false;
    statusBar.classList.add("error");
    statusBar.dataset.state = "error";
    statusBar.textContent = h.message;
  } else {
    statusBar.dataset.state = "ok";
  }
}
function hoursText(hours) {
  if (hours === null || hours === undefined) return "an unknown time";
  if (hours < 1) return "less than an hour";
  if (hours < 48) return `${Math.round(hours)} hours`;
  return `${Math.round(hours / 24)} days`;
}

// ---------------------------------------------------------------- charts (inline SVG)

const SVG = "http://www.w3.org/2000/svg";

function fillMonths(byMonth) {
  // Months without trades still take a slot, so gaps in time look like gaps.
  const have = new Map(byMonth.map((m) => [m.month, m]));
  const [y0, m0] = byMonth[0].month.split("-").map(Number);
  const [y1, m1] = byMonth[byMonth.length - 1].month.split("-").map(Number);
  const out = [];
  for (let y = y0, m = m0; y < y1 || (y === y1 && m <= m1); m === 12 ? (y++, m = 1) : m++) {
    const key = `${y}-${String(m).padStart(2, "0")}`;
    out.push(have.get(key) || { month: key, trades: 0, buys: 0, sells: 0 });
    if (out.length > 600) break;
  }
  return out;
}

// Charts are drawn in user units equal to CSS pixels at the width they will have, so their text
// stays readable on a phone (a 640-unit chart shrunk to 340 px would print 6 px text).
function chartWidth(half) {
  const room = app.clientWidth - (window.innerWidth < 640 ? 24 : 60);
  return Math.round(Math.max(280, Math.min(640, half && window.innerWidth > 900 ? room / 2 : room)));
}

// Monthly bars in trades (counts) or dollars (the sum of each trade's range midpoint).
const MONTHLY = {
  trades: { buys: (m) => m.buys, sells: (m) => m.sells, all: (m) => m.trades, fmt: (v) => num(v), unit: "trades" },
  dollars: { buys: (m) => m.buy_mid_sum || 0, sells: (m) => m.sell_mid_sum || 0, all: (m) => m.amount_mid_sum || 0, fmt: compactMoney, unit: "dollars (range midpoints)" },
};
const monthlyData = new Map();

function monthlyPanel(byMonth, title, id) {
  monthlyData.set(id, byMonth);
  return `<div class="toolbar chart-mode" role="group" aria-label="Chart in" data-for="${esc(id)}">
      <button type="button" class="on" aria-pressed="true" data-mode="trades">Trades</button><button type="button" aria-pressed="false" data-mode="dollars">Dollars</button></div>
    <div id="${esc(id)}">${monthlyChart(byMonth, title, "trades")}</div>`;
}

app.addEventListener("click", (e) => {
  const button = e.target.closest(".chart-mode button");
  if (!button) return;
  const group = button.parentElement, id = group.dataset.for;
  group.querySelectorAll("button").forEach((b) => { b.classList.toggle("on", b === button); b.setAttribute("aria-pressed", String(b === button)); });
  const target = document.getElementById(id);
  target.innerHTML = monthlyChart(monthlyData.get(id), target.querySelector("svg")?.getAttribute("aria-label"), button.dataset.mode);
});

function monthlyChart(byMonth, title, mode = "trades") {
  if (!byMonth || !byMonth.length) return emptyState("No dated trades to chart.");
  byMonth = fillMonths(byMonth);
  const v = MONTHLY[mode];
  const W = chartWidth(true), H = 220, L = mode === "dollars" ? 52 : 36, B = 28, T = 10, R = 8;
  const max = Math.max(...byMonth.map(v.all), 1);
  const step = (W - L - R) / byMonth.length;
  const bw = Math.max(2, Math.min(40, step * 0.7));
  const y = (value) => T + (H - T - B) * (1 - value / max);
  let parts = "";
  for (const tick of niceTicks(max)) {
    parts += `<line class="grid" x1="${L}" x2="${W - R}" y1="${y(tick)}" y2="${y(tick)}"/><text x="${L - 4}" y="${y(tick) + 4}" text-anchor="end">${v.fmt(tick)}</text>`;
  }
  const labelEvery = Math.ceil(byMonth.length / Math.max(1, Math.floor((W - L) / 56)));
  byMonth.forEach((m, i) => {
    const x = L + i * step + (step - bw) / 2;
    const buys = v.buys(m), sells = v.sells(m), other = v.all(m) - buys - sells;
    const yb = y(buys), ys = y(buys + sells);
    parts += `<rect class="bar-buy" x="${x}" y="${yb}" width="${bw}" height="${H - B - yb}"><title>${esc(m.month)}: ${v.fmt(buys)} bought</title></rect>`;
    parts += `<rect class="bar-sell" x="${x}" y="${ys}" width="${bw}" height="${yb - ys}"><title>${esc(m.month)}: ${v.fmt(sells)} sold</title></rect>`;
    if (other > 0.5) {
      const yo = y(v.all(m));
      parts += `<rect class="bar" x="${x}" y="${yo}" width="${bw}" height="${ys - yo}"><title>${esc(m.month)}: ${v.fmt(other)} other</title></rect>`;
    }
    if (i % labelEvery === 0) parts += `<text x="${x + bw / 2}" y="${H - 10}" text-anchor="middle">${esc(m.month)}</text>`;
  });
  return `<svg class="chart" data-chart="monthly" data-mode="${mode}" viewBox="0 0 ${W} ${H}" width="${W}" role="img" aria-label="${esc(title || "Trades by month")}, in ${v.unit}">${parts}</svg>
    <div class="legend"><span class="lb">buys</span><span class="ls">sells</span>${mode === "dollars" ? '<span class="muted">each trade counted at its range midpoint</span>' : ""}</div>`;
}

function hbarChart(items, labelOf, valueOf, hrefOf, title) {
  if (!items || !items.length) return emptyState("Nothing to chart.");
  const rowH = 22, W = chartWidth(true), L = 70, R = 60;
  const H = items.length * rowH + 6;
  const max = Math.max(...items.map(valueOf), 1);
  let parts = "";
  items.forEach((item, i) => {
    const w = ((W - L - R) * valueOf(item)) / max;
    const yy = 3 + i * rowH;
    const label = esc(labelOf(item));
    const text = hrefOf ? `<a href="${esc(hrefOf(item))}"><text x="${L - 6}" y="${yy + 14}" text-anchor="end">${label}</text></a>` : `<text x="${L - 6}" y="${yy + 14}" text-anchor="end">${label}</text>`;
    parts += `${text}<rect class="bar" x="${L}" y="${yy + 2}" width="${Math.max(w, 1)}" height="${rowH - 6}"><title>${label}: ${valueOf(item)}</title></rect>`;
    parts += `<text x="${L + w + 4}" y="${yy + 14}">${num(valueOf(item))}</text>`;
  });
  // A group, not an img: its labels are links, and an img's content is not interactive.
  return `<svg class="chart" data-chart="bars" viewBox="0 0 ${W} ${H}" width="${W}" role="group" aria-label="${esc(title || "")}">${parts}</svg>`;
}

function niceTicks(max) {
  const raw = max / 4;
  const mag = Math.pow(10, Math.floor(Math.log10(raw || 1)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || mag;
  const ticks = [];
  for (let v = 0; v <= max + 1e-9; v += step) ticks.push(Math.round(v));
  return ticks;
}

// ---------------------------------------------------------------- tables

// "opt" columns give way on a narrow screen, so ticker, type and amount stay in view.
const TRADE_COLUMNS = [
  ["Traded", (t) => date(t.transaction_date), "date"],
  ["Disclosed", (t) => date(t.disclosure_date) + (t.is_late ? ` <span class="late" title="disclosed ${t.disclosure_lag_days} days after the trade">late</span>` : ""), "date opt"],
  ["Member", (t) => memberLink(t.member_key, t.member_name), "member"],
  ["Owner", (t) => esc(owner(t.owner)), "opt"],
  ["Ticker", (t) => tickerLink(t.ticker), "ticker"],
  ["Asset", (t) => esc(t.asset_name || "—") + (t.asset_type ? ` <span class="tag">${esc(t.asset_type)}</span>` : ""), "opt"],
  ["Type", (t) => side(t.side, t.transaction_type), "type"],
  ["Amount", (t) => `<span class="long">${range(t.amount_low, t.amount_high)}</span><span class="short">${shortRange(t.amount_low, t.amount_high)}</span>`, "num amount"],
  ["Filing", (t) => `<a href="#/filing/${encodeURIComponent(t.filing_key)}">${esc(t.doc_id)}</a>` + ocrMark(t) + statusMark(t), "opt"],
];

// What a correction or a copy did to a row; each mark opens the trade's chain (#/trade/KEY).
const STATUS_LABELS = {
  amended: ["amended", "replaced by a later amendment; not counted"],
  deleted: ["deleted", "deleted by a later filing; not counted"],
  deletion: ["deletion", "a Deleted row: removes an earlier trade; not counted"],
  duplicate: ["duplicate", "the same trade is counted from another filing"],
};
function statusMark(t) {
  const status = t.trade_status || "active";
  let label = STATUS_LABELS[status];
  if (!label && t.supersedes) label = ["amendment", "replaces an earlier row; counted"];
  if (!label && t.correction_match) label = [t.correction_match === "ambiguous" ? "amendment ?" : "amendment", `correction: ${t.correction_match}`];
  if (!label && (t.also_filed_in || []).length) label = ["filed twice", `also in ${t.also_filed_in.join(", ")}; counted once`];
  if (!label) return "";
  const cls = t.counted === false ? "tag status uncounted" : "tag status";
  return ` <a class="${cls}" data-status="${esc(status)}" href="#/trade/${encodeURIComponent(t.transaction_key)}" title="${esc(label[1])}">${esc(label[0])}</a>`;
}

// Party as a member's, or what the filer is: unknown is said, never left blank (a blank reads as independent).
function partyText(m) {
  if (m.filer_kind === "candidate") return "candidate";
  if (m.filer_kind === "officer") return "officer or employee";
  return m.party || "unknown";
}
function shortRange(lo, hi) {
  if (lo === null && hi === null) return "—";
  if (hi === null || hi === undefined) return "> " + compactMoney(lo);
  return lo === hi ? compactMoney(lo) : compactMoney(lo) + "–" + compactMoney(hi).slice(1);
}

// A row read from a paper scan: marked, linked to its page of the PDF, with the reasons to check it.
function ocrMark(t) {
  if (t.source !== "ocr") return "";
  const review = (t.needs_review || []).length;
  const title = review ? `read by OCR; check on the page: ${t.needs_review.join(", ")}` : "read by OCR from a paper scan";
  const href = t.source_url ? t.source_url + (t.page ? `#page=${t.page}` : "") : "";
  const label = `OCR${t.page ? ` p.${t.page}` : ""}${review ? " ⚠" : ""}`;
  const mark = `<span class="tag ocr${review ? " review" : ""}" title="${esc(title)}">${esc(label)}</span>`;
  return " " + (href ? `<a class="ocr-page" href="${esc(href)}" rel="noopener">${mark}</a>` : mark);
}

function tradesTable(trades, omit = []) {
  if (!trades.length) return emptyState("No trades match.");
  const cols = TRADE_COLUMNS.filter(([name]) => !omit.includes(name));
  const head = cols.map(([name, , cls]) => `<th class="${cls || ""}">${name}</th>`).join("");
  const rows = trades.map((t) => `<tr data-key="${esc(t.transaction_key)}">${cols.map(([, f, cls]) => `<td class="${cls || ""}">${f(t)}</td>`).join("")}</tr>`).join("");
  return `<table class="trades"><thead><tr>${head}</tr></thead><tbody>${rows}</tbody></table>`;
}

function tickerMembersTable(members) {
  const rows = members.map((m) => `<tr><td>${memberLink(m.member_key, m.name)}</td><td>${esc(m.party || "unknown")}</td>
    <td class="num">${num(m.trades)}</td><td class="num">${num(m.buys)}</td><td class="num">${num(m.sells)}</td></tr>`).join("");
  return `<table class="members"><thead><tr><th>Member</th><th>Party</th><th class="num">Trades</th><th class="num">Buys</th><th class="num">Sells</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function filingsTable(filings) {
  if (!filings.length) return emptyState("No filings.");
  const rows = filings.map((f) => `<tr>
    <td><a href="#/filing/${encodeURIComponent(f.filing_key)}">${esc(f.doc_id)}</a></td>
    <td>${esc(f.filing_type || "—")}</td><td>${date(f.filing_date)}</td>
    <td>${esc(f.extraction_status)}</td><td class="num">${num(f.transaction_count)}</td>
    <td><a href="${esc(f.pdf_url)}" rel="noopener">PDF</a></td></tr>`).join("");
  return `<table class="filings"><thead><tr><th>DocID</th><th>Type</th><th>Filed</th><th>Extraction</th><th class="num">Trades</th><th>Source</th></tr></thead><tbody>${rows}</tbody></table>`;
}

// ---------------------------------------------------------------- pages

async function dashboard() {
  const [summary, latest, trend] = await Promise.all([api("/v1/summary"), api("/v1/trades/latest"), api("/v1/trending", { window: 30, limit: 15 })]);
  const t = summary.totals;
  const h = await health();
  const latestDisclosure = h.last_disclosure_date || t.last_disclosure_date;
  const age = daysAgo(latestDisclosure);
  setPage(`
    <h1>Trades by members of the US House</h1>
    <p class="subtitle">From the periodic transaction reports members file with the Clerk of the House. Years: ${summary.years.map(esc).join(", ") || "—"}.</p>
    <div class="cards" id="totals">
      ${card("Trades", `<span data-total="trades">${num(t.trades)}</span>`, `${num(t.buys)} buys · ${num(t.sells)} sells`)}
      ${card("Members trading", `<span data-total="members">${num(t.members_trading)}</span>`, `${num(t.ptr_filings)} PTR filings`)}
      ${card("Tickers", num(t.tickers))}
      ${card("Volume (range)", compactRange(t.amount_low_sum, t.amount_high_sum), "sum of the reported ranges")}
      ${card("Late disclosures", num(t.late_trades), "over 45 days after the trade")}
      ${card("Latest disclosure", `<span id="latest-disclosure">${date(latestDisclosure)}</span>`,
             (age === null ? "" : `${num(age)} days ago`) + (h.freshness_hours === null || h.freshness_hours === undefined ? "" : ` · data built ${hoursText(h.freshness_hours)} ago`))}
    </div>
    ${coverageNote(summary.coverage_totals)}
    <div class="grid2">
      <section class="panel"><h2>Trending tickers <span class="windows" id="windows">
        <button data-w="7">7 d</button><button data-w="30" class="on">30 d</button><button data-w="90">90 d</button></span></h2>
        <p class="muted" id="trend-window"></p><div id="trending"></div></section>
      <section class="panel"><h2>Trades by month</h2>${monthlyPanel(summary.by_month, "Trades by month", "monthly-all")}</section>
    </div>
    <section class="panel"><h2>Latest disclosed trades</h2>${tradesTable(latest.items.slice(0, 20))}
      <p><a href="#/trades">All trades, with filters and CSV export →</a> · ${feedLink("feeds/latest.xml", "the latest trades")}</p></section>
    <section class="panel"><h2>Most active members</h2>${membersTable(summary.top_members)}</section>`);
  renderTrending(trend);
  document.getElementById("windows").addEventListener("click", async (e) => {
    const w = e.target.dataset.w;
    if (!w) return;
    document.querySelectorAll("#windows button").forEach((b) => b.classList.toggle("on", b.dataset.w === w));
    renderTrending(await api("/v1/trending", { window: w, limit: 15 }));
  });
}

function renderTrending(trend) {
  document.getElementById("trend-window").textContent = trend.anchor_date
    ? `Distinct members buying, ${trend.window_start} to ${trend.anchor_date} (the latest disclosure).` : "";
  document.getElementById("trending").innerHTML = hbarChart(trend.items, (i) => i.ticker, (i) => i.buyers || i.trades,
    (i) => `#/ticker/${encodeURIComponent(i.ticker)}`, "Trending tickers by buyers");
}

function membersTable(members) {
  if (!members.length) return emptyState("No members.");
  const rows = members.map((m) => {
    const s = m.stats || {};
    return `<tr><td>${memberLink(m.member_key, m.name)}</td><td>${esc(partyText(m))}</td><td>${esc(m.state_district || "—")}</td>
      <td class="num">${num(s.trades)}</td><td class="num">${num(s.buys)}</td><td class="num">${num(s.sells)}</td>
      <td class="num">${num(s.tickers)}</td><td>${date(s.last_transaction_date)}</td></tr>`;
  }).join("");
  return `<table class="members"><thead><tr><th>Member</th><th>Party</th><th>District</th><th class="num">Trades</th><th class="num">Buys</th><th class="num">Sells</th><th class="num">Tickers</th><th>Last trade</th></tr></thead><tbody>${rows}</tbody></table>`;
}

const FILTERS = ["member", "ticker", "asset", "owner", "type", "from", "to", "min_amount", "max_amount", "source", "needs_review", "sort"];
const PAGE_SIZE = 50;

async function tradesPage(params) {
  const query = {};
  for (const k of FILTERS) if (params.get(k)) query[k] = params.get(k);
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  setPage(`
    <h1>Trades</h1>
    <form class="filters" id="filters">
      <label>Member<input name="member" list="member-list" placeholder="name or bioguide ID" value="${esc(query.member || "")}"></label>
      <datalist id="member-list"></datalist>
      <label>Ticker<input name="ticker" placeholder="e.g. NVDA" value="${esc(query.ticker || "")}"></label>
      <label>Asset<input name="asset" placeholder="part of the name" value="${esc(query.asset || "")}"></label>
      <label>Owner<select name="owner">${options([["", "Anyone"], ["self", "Self"], ["SP", "Spouse"], ["JT", "Joint"], ["DC", "Child"]], query.owner)}</select></label>
      <label>Type<select name="type">${options([["", "Any"], ["buy", "Buy"], ["sell", "Sell"], ["exchange", "Exchange"]], query.type)}</select></label>
      <label>Traded from<input type="date" name="from" value="${esc(query.from || "")}"></label>
      <label>Traded to<input type="date" name="to" value="${esc(query.to || "")}"></label>
      <label>Amount at least<select name="min_amount">${options(AMOUNTS, query.min_amount)}</select></label>
      <label>Amount at most<select name="max_amount">${options(AMOUNTS, query.max_amount)}</select></label>
      <label>Read from<select name="source">${options([["", "Any filing"], ["efiled", "E-filed"], ["ocr", "Paper scan (OCR)"]], query.source)}</select></label>
      <label>Review<select name="needs_review">${options([["", "Any"], ["true", "To check"], ["false", "No flag"]], query.needs_review)}</select></label>
      <label>Sort<select name="sort">${options([["-transaction_date", "Newest trade"], ["transaction_date", "Oldest trade"], ["-disclosure_date", "Newest disclosure"], ["-amount", "Largest amount"], ["amount", "Smallest amount"], ["ticker", "Ticker A-Z"], ["member", "Member A-Z"]], query.sort)}</select></label>
      <div class="toolbar"><button type="submit" id="apply">Apply</button><a href="#/trades">Reset</a></div>
    </form>
    <div class="toolbar"><strong id="count">…</strong><button type="button" class="secondary" id="export">Export CSV</button><span id="export-status" class="muted"></span></div>
    <div class="panel" id="results"><p class="loading">Loading…</p></div>`);
  const form = document.getElementById("filters");
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const data = clean(Object.fromEntries(new FormData(form).entries()));
    if (data.sort === "-transaction_date") delete data.sort;
    location.hash = "#/trades" + (Object.keys(data).length ? "?" + new URLSearchParams(data) : "");
  });
  document.getElementById("export").addEventListener("click", () => exportCsv(query));
  api("/v1/members", { traded: true, limit: 500, sort: "name" }).then((page) => {
    document.getElementById("member-list").innerHTML = page.items.map((m) => `<option value="${esc(m.member_key)}">${esc(m.name)}</option>`).join("");
  }).catch(() => {});
  let page;
  try {
    page = await api("/v1/trades", { ...query, limit: PAGE_SIZE, offset });
  } catch (err) {
    document.getElementById("count").textContent = "";
    document.getElementById("results").innerHTML = errorBox(err);
    return;
  }
  document.getElementById("count").textContent = `${num(page.total)} trade${page.total === 1 ? "" : "s"}`;
  document.getElementById("count").dataset.total = page.total;
  document.getElementById("results").innerHTML = tradesTable(page.items) + hashPager("trades", query, offset, page.items.length, page.total);
}

const AMOUNTS = [["", "Any"], ["1001", "$1,001"], ["15001", "$15,001"], ["50001", "$50,001"], ["100001", "$100,001"],
  ["250001", "$250,001"], ["500001", "$500,001"], ["1000001", "$1,000,001"], ["5000001", "$5,000,001"], ["25000001", "$25,000,001"], ["50000001", "$50,000,001"]];

function options(pairs, selected) {
  return pairs.map(([v, label]) => `<option value="${esc(v)}"${String(selected ?? "") === v ? " selected" : ""}>${esc(label)}</option>`).join("");
}
// The CSV export: header on row one (pandas.read_csv and spreadsheets read it as is), a UTF-8 BOM
// (Excel then reads the names' accents right), the filer's own trades as "self", and the
// use-restriction notice in a column of its own on every row, so it stays with any rows copied
// out of the file and never breaks parsing. Every matching row is fetched, page after page.
const CSV_COLUMNS = ["transaction_date", "disclosure_date", "member_name", "bioguide_id", "party", "state_district", "owner", "ticker",
  "asset_name", "asset_type", "transaction_type", "side", "amount_low", "amount_high", "is_late", "disclosure_lag_days",
  "filing_key", "doc_id", "description", "comments", "source_url", "page", "source", "confidence", "needs_review", "notice"];
// services/common/notice.py's text, word for word (a test compares them).
const CSV_NOTICE = "Use restriction (5 U.S.C. 13107): the financial disclosure data of the Clerk of the U.S. House of Representatives may not be used for any unlawful purpose, for any commercial purpose other than by news and communications media for dissemination to the general public, to determine or establish the credit rating of any individual, or for use, directly or indirectly, in the solicitation of money for any political, charitable, or other purpose.";

function csvCell(v) {
  if (v === null || v === undefined) return "";
  let s = String(v);
  if (typeof v === "string" && /^[=+\-@\t\r]/.test(s)) s = "'" + s; // no formulas in a spreadsheet
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}
function csvRow(t) {
  const row = { ...t, owner: t.owner || "self", notice: CSV_NOTICE };
  return CSV_COLUMNS.map((c) => csvCell(row[c])).join(",") + "\r\n";
}

async function exportCsv(query) {
  const status = document.getElementById("export-status");
  const button = document.getElementById("export");
  button.disabled = true;
  const parts = ["\ufeff" + CSV_COLUMNS.join(",") + "\r\n"];
  let rows = 0, total = null;
  try {
    let offset = 0;
    while (offset !== null) {
      status.textContent = `Fetching… ${num(rows)}${total === null ? "" : " of " + num(total)} rows`;
      const page = await api("/v1/trades", { ...query, limit: 500, offset });
      parts.push(page.items.map(csvRow).join(""));
      rows += page.items.length;
      total = page.total;
      offset = page.next_offset;
    }
  } catch (err) {
    status.textContent = `Export failed after ${num(rows)} rows: ${err.message}`;
    button.disabled = false;
    return;
  }
  const blob = new Blob(parts, { type: "text/csv;charset=utf-8" });
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = "house-trades" + (query.member ? "-" + query.member : "") + (query.ticker ? "-" + query.ticker : "") + ".csv";
  document.body.appendChild(a);
  a.click();
  setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  status.textContent = `Exported ${num(rows)} rows.`;
  button.disabled = false;
}

async function membersPage(params) {
  const q = params.get("q") || "";
  const all = params.get("all") === "1";
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const page = await api("/v1/members", { q, traded: !all, limit: PAGE_SIZE, offset });
  const state = clean({ q, all: all ? "1" : "" });
  setPage(`<h1>Members</h1>
    <form class="toolbar" id="search" role="search"><label for="members-q" class="sr-only">Search members by name</label>
    <input id="members-q" name="q" type="search" placeholder="Search by name" value="${esc(q)}">
    <label class="muted"><input type="checkbox" name="all" value="1"${all ? " checked" : ""}> include filers with no trades</label>
    <button type="submit">Search</button></form>
    <p class="muted" id="count" data-total="${page.total}">${num(page.total)} member${page.total === 1 ? "" : "s"}. Filers not matched to a current member keep the name they filed under.</p>
    <div class="panel">${membersTable(page.items)}${hashPager("members", state, offset, page.items.length, page.total)}</div>`);
  document.getElementById("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const data = clean(Object.fromEntries(new FormData(e.target).entries()));
    location.hash = "#/members" + (Object.keys(data).length ? "?" + new URLSearchParams(data) : "");
  });
}

// A member's or ticker's lists (trades, filings, members) come with the first page of each; the
// rest are fetched a page at a time from the list's route (same order), so a page with thousands
// of rows stays light.
const DETAIL_LISTS = {
  trades: { path: "/v1/trades", render: (items, omit) => tradesTable(items, omit) },
  filings: { path: "/v1/filings", render: (items) => filingsTable(items) },
  members: { path: "/v1/tickers/{ticker}/members", render: (items) => tickerMembersTable(items) },
};
// The pages go on at the size of the first one, the size the API chose.
function detailList(kind, filter, first, total, omit = []) {
  const size = first.length < total ? first.length : PAGE_SIZE;
  return `<div id="detail-${kind}" class="detail-list" data-kind="${kind}" data-size="${size}" data-filter="${esc(JSON.stringify(filter))}" data-omit="${esc(omit.join(","))}">
    ${DETAIL_LISTS[kind].render(first, omit)}${detailPager(kind, size, 0, first.length, total)}</div>`;
}
function detailPager(kind, size, offset, count, total) {
  const prev = offset > 0 ? `<button type="button" class="secondary" data-offset="${Math.max(0, offset - size)}">← Previous</button>` : "";
  const next = offset + count < total ? `<button type="button" class="secondary" data-offset="${offset + size}">Next →</button>` : "";
  return `<nav class="pager" aria-label="Pages of ${kind}">${prev}<span class="muted" data-shown>${pages(offset, count, total)}</span>${next}</nav>`;
}
app.addEventListener("click", async (e) => {
  const button = e.target.closest(".detail-list .pager button");
  if (!button) return;
  const box = button.closest(".detail-list");
  const list = DETAIL_LISTS[box.dataset.kind];
  const filter = JSON.parse(box.dataset.filter);
  const offset = parseInt(button.dataset.offset, 10), size = parseInt(box.dataset.size, 10);
  // a {name} in the route takes the filter of that name; the others go in the query
  const path = list.path.replace(/\{(\w+)\}/g, (_, name) => { const v = filter[name]; delete filter[name]; return encodeURIComponent(v); });
  try {
    const page = await api(path, { ...filter, limit: size, offset });
    box.innerHTML = list.render(page.items, box.dataset.omit.split(",")) + detailPager(box.dataset.kind, size, offset, page.items.length, page.total);
  } catch (err) {
    box.innerHTML = errorBox(err);
  }
});

async function memberPage(key) {
  const d = await api("/v1/members/" + encodeURIComponent(key));
  const m = d.member, s = m.stats || {};
  const where = [partyText(m), m.state_district].filter(Boolean).map(esc).join(" · ");
  const notMember = { candidate: "a candidate, not a member", officer: "an officer or employee, not a member" }[m.filer_kind];
  const matched = m.resolved ? `<span class="tag">bioguide ${esc(m.bioguide_id)}</span>`
    : `<span class="tag" title="${esc(m.match_method)}">${esc(notMember || "not matched to a House member")}</span>`;
  setPage(`
    <h1 id="member-name">${esc(m.name || m.filer_name || m.member_key)}</h1>
    <p class="subtitle">${where} ${matched}</p>
    <div class="cards">
      ${card("Trades", `<span data-total="trades">${num(s.trades || 0)}</span>`, `${num(s.buys || 0)} buys · ${num(s.sells || 0)} sells`)}
      ${card("Volume (range)", compactRange(s.amount_low_sum, s.amount_high_sum))}
      ${card("Tickers", num(s.tickers))}
      ${card("PTR filings", num(d.coverage ? d.coverage.ptr_filings : s.ptr_filings), d.coverage && d.coverage.unreadable ? `${num(d.coverage.unreadable)} not yet readable` : "")}
      ${card("Late trades", num(s.late_trades), s.median_lag_days !== null && s.median_lag_days !== undefined ? `median lag ${num(s.median_lag_days)} days` : "")}
      ${card("Last trade", date(s.last_transaction_date))}
    </div>
    ${coverageNote(d.coverage)}
    <div class="grid2">
      <section class="panel"><h2>Trades by month</h2>${monthlyPanel(d.by_month, "Trades by month", "monthly-member")}</section>
      <section class="panel"><h2>Most traded tickers</h2>${hbarChart(d.top_tickers, (t) => t.ticker, (t) => t.trades, (t) => `#/ticker/${encodeURIComponent(t.ticker)}`, "Most traded tickers")}</section>
    </div>
    <section class="panel"><h2>Trades</h2>
      <p><a href="#/trades?member=${encodeURIComponent(m.member_key)}">Filter and export these trades →</a>${d.trades.length ? " · " + feedLink(`feeds/members/${encodeURIComponent(m.member_key)}.xml`, "this member's trades") : ""}</p>
      ${d.trades.length ? detailList("trades", { member: m.member_key }, d.trades, d.trades_total ?? d.trades.length, ["Member"])
        : emptyState(d.coverage && d.coverage.unreadable ? "No trades could be read yet: see the filings below." : "No trades reported.")}</section>
    <section class="panel" tabindex="0" aria-label="Filings"><h2>Filings</h2>${detailList("filings", { member: m.member_key }, d.filings, d.filings_total ?? d.filings.length)}</section>`);
}

async function tickersPage(params) {
  const q = params.get("q") || "";
  const offset = Math.max(0, parseInt(params.get("offset") || "0", 10) || 0);
  const page = await api("/v1/tickers", { q, limit: PAGE_SIZE, offset });
  const rows = page.items.map((t) => `<tr><td>${tickerLink(t.ticker)}</td><td>${esc(t.asset_name || "—")}</td>
    <td class="num">${num(t.trades)}</td><td class="num">${num(t.buys)}</td><td class="num">${num(t.sells)}</td>
    <td class="num">${num(t.members)}</td><td class="opt">${date(t.last_transaction_date)}</td></tr>`).join("");
  setPage(`<h1>Tickers</h1>
    <form class="toolbar" id="search" role="search"><label for="tickers-q" class="sr-only">Search tickers or companies</label>
    <input id="tickers-q" name="q" type="search" placeholder="Ticker or company" value="${esc(q)}"><button type="submit">Search</button></form>
    <p class="muted" id="count" data-total="${page.total}">${num(page.total)} ticker${page.total === 1 ? "" : "s"}</p>
    <div class="panel">${page.items.length ? `<table class="tickers"><thead><tr><th>Ticker</th><th>Asset</th><th class="num">Trades</th><th class="num">Buys</th><th class="num">Sells</th><th class="num">Members</th><th class="opt">Last trade</th></tr></thead><tbody>${rows}</tbody></table>` : emptyState("No tickers match.")}
    ${hashPager("tickers", clean({ q }), offset, page.items.length, page.total)}</div>`);
  document.getElementById("search").addEventListener("submit", (e) => {
    e.preventDefault();
    const v = new FormData(e.target).get("q");
    location.hash = "#/tickers" + (v ? "?q=" + encodeURIComponent(v) : "");
  });
}

async function tickerPage(symbol) {
  const d = await api("/v1/tickers/" + encodeURIComponent(symbol));
  const t = d.ticker;
  setPage(`
    <h1 id="ticker-symbol">${esc(t.ticker)}</h1>
    <p class="subtitle">${esc(t.asset_name || "")} ${t.asset_type ? `<span class="tag">${esc(t.asset_type)}</span>` : ""}</p>
    <div class="cards">
      ${card("Trades", `<span data-total="trades">${num(t.trades)}</span>`, `${num(t.buys)} buys · ${num(t.sells)} sells`)}
      ${card("Members", num(t.members))}
      ${card("Volume (range)", compactRange(t.amount_low_sum, t.amount_high_sum))}
      ${card("Last trade", date(t.last_transaction_date), `disclosed ${date(t.last_disclosure_date)}`)}
    </div>
    <div class="grid2">
      <section class="panel"><h2>Trades by month</h2>${monthlyPanel(d.by_month, "Trades by month", "monthly-ticker")}</section>
      <section class="panel"><h2>Members who traded ${esc(t.ticker)}</h2>
        ${detailList("members", { ticker: t.ticker }, d.members, d.members_total ?? d.members.length)}</section>
    </div>
    <section class="panel"><h2>Trades</h2>
      <p><a href="#/trades?ticker=${encodeURIComponent(t.ticker)}">Filter and export these trades →</a> · ${feedLink(`feeds/tickers/${encodeURIComponent(t.ticker)}.xml`, `trades of ${t.ticker}`)}</p>
      ${detailList("trades", { ticker: t.ticker }, d.trades, d.trades_total ?? d.trades.length, ["Ticker"])}</section>`);
}

async function filingPage(id) {
  const d = await api("/v1/filings/" + encodeURIComponent(id));
  const f = d.filing;
  setPage(`
    <h1>Filing ${esc(f.doc_id)}</h1>
    <p class="subtitle">${memberLink(f.member_key, f.member_name)} · type ${esc(f.filing_type || "—")} · filed ${date(f.filing_date)}</p>
    <div class="cards">
      ${card("Trades", num(f.transaction_count))}
      ${card("Extraction", esc(f.extraction_status), f.failure_reason ? esc(f.failure_reason) : esc(f.rendering || ""))}
      ${card("Pages", num(f.pages))}
      ${card("Source", `<a href="${esc(f.pdf_url)}" rel="noopener" id="pdf-link">PDF at the Clerk</a>`)}
    </div>
    ${f.filing_type === "P" && f.extraction_status !== "extracted" ? `<p class="coverage" data-unreadable="1"><strong>This filing is not yet readable</strong> (${esc(
      { needs_ocr: "a scanned paper filing, waiting for OCR", failed: "its PDF could not be read", missing: "its PDF could not be fetched" }[f.extraction_status] || f.extraction_status)}): its trades are not counted. Read them in the PDF.</p>` : ""}
    <section class="panel"><h2>Trades in this filing</h2>
      <p class="note">Every row the filing prints. A row marked amended, deleted, deletion or duplicate counts in no total; its mark opens the chain.</p>
      ${tradesTable(d.trades, ["Member"])}</section>`);
}

// One trade and its chain: the original, the amendments, the deletion; and its copies in other filings.
async function tradePage(key) {
  const d = await api("/v1/trades/" + encodeURIComponent(key));
  const t = d.trade;
  const chainRows = d.chain.map((link) => `<tr data-role="${esc(link.role)}"${link.transaction_key === t.transaction_key ? ' class="current"' : ""}>
    <td>${esc(link.role)}</td><td><a href="#/filing/${encodeURIComponent(link.filing_key)}">${esc(link.doc_id)}</a></td>
    <td>${esc(link.filing_status || "—")}</td><td>${date(link.transaction_date)}</td><td>${esc(link.transaction_type || "—")}</td>
    <td class="num">${range(link.amount_low, link.amount_high)}</td><td>${esc(link.trade_status)}${link.counted ? "" : " (not counted)"}</td>
    <td>${link.correction_match ? esc(link.correction_match) + (link.correction_score !== null && link.correction_score !== undefined ? ` ${num(link.correction_score)}` : "") : ""}</td></tr>`).join("");
  const copies = [d.duplicate_of, ...d.copies].filter(Boolean);
  const state = t.counted ? "counted" : "not counted";
  setPage(`
    <h1>Trade ${esc(t.ticker || t.asset_name || t.transaction_key)}</h1>
    <p class="subtitle">${memberLink(t.member_key, t.member_name)} · ${date(t.transaction_date)} · <span id="trade-state" data-counted="${t.counted}">${esc(t.trade_status)}, ${state}</span></p>
    <section class="panel"><h2>Chain</h2>
      <table class="chain"><thead><tr><th>Role</th><th>Filing</th><th>Filing status</th><th>Traded</th><th>Type</th><th class="num">Amount</th><th>Status</th><th>Match</th></tr></thead><tbody>${chainRows}</tbody></table>
      ${(t.correction_candidates || []).length ? `<p class="note">Ambiguous: ${t.correction_candidates.length} earlier rows match equally; none was replaced.</p>` : ""}
    </section>
    <section class="panel"><h2>The same trade in other filings</h2>${copies.length ? tradesTable(copies, ["Member"]) : emptyState("Reported in this filing only.")}</section>`);
}

async function opsPage() {
  const [h, runs, dlq] = await Promise.all([
    health(),
    api("/v1/ops/runs", { limit: 25 }).catch((err) => ({ error: err })),
    api("/v1/ops/dlq").catch((err) => ({ error: err })),
  ]);
  const runRows = runs.error ? "" : runs.items.map((r) => {
    const c = r.counts || {};
    const failures = (c.fetch_failed || 0) + (c.extract_failed || 0);
    return `<tr data-run="${esc(r.run_id)}"><td class="run">${esc(r.run_id)}</td><td class="${r.status === "succeeded" ? "ok" : r.status === "failed" ? "bad" : ""}">${esc(r.status || "—")}</td>
      <td>${esc(r.trigger || "—")}</td><td class="date">${esc((r.started_at || "").replace("T", " ").slice(0, 19))}</td>
      <td class="num">${r.duration_s === null || r.duration_s === undefined ? "—" : num(Math.round(r.duration_s)) + " s"}</td>
      <td class="num">${num(r.docs_settled)} / ${num(r.docs_expected)}</td>
      <td class="num">${num(c.fetch_stored || 0)}</td><td class="num extracted">${num(c.extract_extracted || 0)}</td><td class="num needs-ocr">${num(c.extract_needs_ocr || 0)}</td>
      <td class="num ${failures ? "bad" : ""}">${num(failures)}</td>
      <td class="num cost">${r.cost_usd === null || r.cost_usd === undefined ? "—" : "$" + r.cost_usd.toFixed(4)}</td>
      <td>${Object.entries(r.durations_ms || {}).map(([k, v]) => `${esc(k)} ${num(Math.round(v / 1000))} s`).join(" · ") || "—"}</td></tr>${errorsRow(r)}`;
  }).join("");
  const stageData = runs.error ? [] : runs.items.filter((r) => r.durations_ms && Object.keys(r.durations_ms).length).slice(0, 10);
  const dlqRows = dlq.error ? "" : dlq.items.map((q) => `<tr><td>${esc(q.name)}</td><td class="num ${q.depth ? "bad" : ""}">${q.depth === null ? "unreadable" : num(q.depth)}</td></tr>`).join("");
  setPage(`
    <h1>Operations</h1>
    <div class="cards">
      ${card("Data", esc(h.status || "—"), h.gold_version ? `version ${esc(h.gold_version)}` : "")}
      ${card("Data built", h.freshness_hours === null || h.freshness_hours === undefined ? "—" : hoursText(h.freshness_hours) + " ago", h.last_disclosure_date ? `latest disclosure ${esc(h.last_disclosure_date)} (${num(daysAgo(h.last_disclosure_date))} days ago)` : "")}
      ${card("Dead letters", dlq.error ? "?" : `<span id="dlq-total">${num(dlq.total_depth)}</span>`, "messages waiting for a replay")}
      ${card("Runs shown", runs.error ? "?" : num(runs.items.length))}
      ${card("Cost per month", runs.error || !runs.monthly_projection ? "—" : `<span id="cost-month">$${runs.monthly_projection.total_usd.toFixed(2)}</span>`,
             "estimated at AWS list prices, nightly runs, free tiers applied")}
    </div>
    <section class="panel" tabindex="0" aria-label="Recent runs (scrolls sideways on a small screen)"><h2>Recent runs</h2>
      ${runs.error ? errorBox(runs.error) : runs.items.length ? `<table id="runs"><thead><tr><th>Run</th><th>Status</th><th>Trigger</th><th>Started (UTC)</th><th class="num">Duration</th><th class="num">Docs settled</th><th class="num">Fetched</th><th class="num">Extracted</th><th class="num">Needs OCR</th><th class="num">Failures</th><th class="num">Cost</th><th>Stage time</th></tr></thead><tbody>${runRows}</tbody></table>` : emptyState("No runs recorded yet.")}
    </section>
    <div class="grid2">
      <section class="panel"><h2>Stage time per run (seconds, summed over documents)</h2>${stageChart(stageData)}</section>
      <section class="panel"><h2>Dead-letter queues</h2>${dlq.error ? errorBox(dlq.error) : dlq.items.length ? `<table id="dlq"><thead><tr><th>Queue</th><th class="num">Depth</th></tr></thead><tbody>${dlqRows}</tbody></table>` : emptyState("No dead-letter queues configured.")}</section>
    </div>`);
}

// A run's first errors get a full-width row of their own: long reasons wrap instead of being clipped.
function errorsRow(r) {
  const errors = (r.errors || []).slice(0, 3);
  if (!errors.length && !r.failure_reason) return "";
  const text = errors.length ? errors.map(esc).join("<br>") : esc(r.failure_reason);
  return `<tr class="errors-row" data-run-errors="${esc(r.run_id)}"><td colspan="12"><span class="muted">First errors:</span> <span class="errors">${text}</span></td></tr>`;
}

async function searchPage(params) {
  const q = (params.get("q") || "").trim();
  const input = document.getElementById("global-q");
  if (input && input.value !== q) input.value = q;
  if (!q) { setPage(`<h1>Search</h1>${emptyState("Type a member, a ticker or an asset in the search box.")}`); return; }
  const found = await api("/v1/search", { q });
  const members = found.members.map((m) => `<li>${memberLink(m.member_key, m.name)} <span class="muted">${esc([partyText(m), m.state_district].filter(Boolean).join(" · "))} · ${num((m.stats || {}).trades || 0)} trades</span></li>`).join("");
  const tickers = found.tickers.map((t) => `<li>${tickerLink(t.ticker)} <span class="muted">${esc(t.asset_name || "")} · ${num(t.trades)} trades</span></li>`).join("");
  const assets = found.assets.map((a) => `<li><a href="#/trades?${esc(new URLSearchParams(a.ticker ? { ticker: a.ticker } : { asset: a.asset_name }).toString())}">${esc(a.asset_name)}</a> <span class="muted">${a.ticker ? esc(a.ticker) + " · " : ""}${num(a.trades)} trades</span></li>`).join("");
  const section = (title, id, items) => `<section class="panel" id="${id}"><h2>${title}</h2>${items ? `<ul class="results">${items}</ul>` : emptyState("Nothing matches.")}</section>`;
  setPage(`<h1>Search: ${esc(q)}</h1>${section("Members", "found-members", members)}${section("Tickers", "found-tickers", tickers)}${section("Assets", "found-assets", assets)}`);
}

function stageChart(runs) {
  if (!runs.length) return emptyState("No stage timings yet.");
  const stages = [...new Set(runs.flatMap((r) => Object.keys(r.durations_ms)))].sort();
  const colors = ["#1f5fa8", "#1d8a4e", "#8a6d1d", "#c2413b", "#6a4fa3"];
  const W = chartWidth(true), L = 150, R = 50, rowH = 24;
  const totals = runs.map((r) => stages.reduce((s, k) => s + (r.durations_ms[k] || 0), 0) / 1000);
  const max = Math.max(...totals, 1);
  let parts = "";
  runs.forEach((r, i) => {
    let x = L;
    const yy = 4 + i * rowH;
    parts += `<text x="${L - 6}" y="${yy + 14}" text-anchor="end">${esc(r.run_id.slice(0, 16))}</text>`;
    stages.forEach((k, j) => {
      const w = ((W - L - R) * (r.durations_ms[k] || 0)) / 1000 / max;
      parts += `<rect x="${x}" y="${yy + 3}" width="${w}" height="${rowH - 8}" fill="${colors[j % colors.length]}"><title>${esc(k)}: ${(r.durations_ms[k] / 1000 || 0).toFixed(1)} s</title></rect>`;
      x += w;
    });
    parts += `<text x="${x + 4}" y="${yy + 14}">${totals[i].toFixed(1)} s</text>`;
  });
  const legend = stages.map((k, j) => `<span><svg width="10" height="10"><rect width="10" height="10" fill="${colors[j % colors.length]}"/></svg> ${esc(k)}</span>`).join("");
  return `<svg class="chart" data-chart="stages" viewBox="0 0 ${W} ${runs.length * rowH + 8}" role="img" aria-label="Stage time per run">${parts}</svg><div class="legend">${legend}</div>`;
}

// ---------------------------------------------------------------- router

// A malformed escape (`#/member/%E0`) is kept as typed: the route then answers "not found".
function safeDecode(part) {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query] = raw.split("?");
  const parts = path.split("/").filter(Boolean).map(safeDecode);
  return { parts, params: new URLSearchParams(query || "") };
}

const ROUTES = {
  "": () => dashboard(),
  trades: (p, params) => tradesPage(params),
  members: (p, params) => membersPage(params),
  member: (p) => memberPage(p[1]),
  tickers: (p, params) => tickersPage(params),
  ticker: (p) => tickerPage(p[1]),
  filing: (p) => filingPage(p[1]),
  trade: (p) => tradePage(p[1]),
  ops: () => opsPage(),
  search: (p, params) => searchPage(params),
};
const NAV = { "": "dashboard", member: "members", ticker: "tickers", filing: "trades", trade: "trades" };

async function route() {
  const { parts, params } = parseHash();
  const name = parts[0] || "";
  const handler = ROUTES[name];
  const navName = NAV[name] || name;
  document.querySelectorAll("#nav a").forEach((a) => {
    a.classList.toggle("active", a.dataset.route === navName);
    a.dataset.route === navName ? a.setAttribute("aria-current", "page") : a.removeAttribute("aria-current");
  });
  document.body.dataset.page = navName || "dashboard";
  app.dataset.ready = "false";
  setPage('<p class="loading">Loading…</p>');
  showStatus();
  try {
    if (!handler || ((name === "member" || name === "ticker" || name === "filing" || name === "trade") && !parts[1])) {
      setPage(`<div class="error-box" data-state="not-found">No such page. <a href="#/">Back to the dashboard</a>.</div>`);
    } else {
      await handler(parts, params);
    }
  } catch (err) {
    setPage(errorBox(err));
  }
  document.title = (document.querySelector("main h1")?.textContent || "House trades") + " · House trades";
  app.dataset.ready = "true";
}

document.getElementById("global-search").addEventListener("submit", (e) => {
  e.preventDefault();
  const q = document.getElementById("global-q").value.trim();
  location.hash = "#/search" + (q ? "?q=" + encodeURIComponent(q) : "");
});
// The skip link moves focus to the content without touching the hash (the hash is the route).
document.querySelector(".skip").addEventListener("click", (e) => {
  e.preventDefault();
  app.focus();
});

window.addEventListener("hashchange", route);
route();
