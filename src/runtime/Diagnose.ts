/**
 * The debug page's Diagnose section: a connectivity report on the URL in the page's Server field, one check after
 * another, each shown as it runs with pass, warn or fail and a reason in plain words, and the whole result as
 * JSON for a bug report. Its script runs in the page's one inline script, after the page's own, whose `$`, `ui`
 * and `fields` it reads; the page's Content-Security-Policy lets it fetch only `/health` and `/echo` over HTTP.
 */

/** The section's markup: the options, the checks as they run, and the latency plots. */
export const diagnoseSection = `<details id="diagnose"><summary>Diagnose</summary>
<p class="hint">Checks the Server URL, one step at a time: reachable over HTTP, the upgrade, round trips up to 1 MiB, latency, what the server saw, a server close, and idle survival if chosen.</p>
<div class="row">
<label class="pair">Round trips <input id="d-rounds" class="small" type="number" min="10" max="1000" value="100"></label>
<label class="pair">Idle survival <select id="d-idle"><option value="">off</option><option value="30">30 s</option><option value="60">60 s</option><option value="120">120 s</option><option value="300">300 s</option></select></label>
<button id="d-run" type="button">Run diagnosis</button>
<button id="d-copy" type="button" class="plain" disabled>Copy report</button>
</div>
<ol id="checks" aria-live="polite"></ol>
<div id="plots" hidden>
<p class="hint" id="d-summary"></p>
<svg id="d-series" class="plot" viewBox="0 0 400 180" role="img" aria-label="Round-trip time of each message, in order"></svg>
<svg id="d-histogram" class="plot" viewBox="0 0 400 180" role="img" aria-label="How many round trips took how long"></svg>
</div>
<textarea id="d-report" rows="8" readonly hidden aria-label="The report as JSON"></textarea>
</details>`

/** The section's style, added to the page's one stylesheet. */
export const diagnoseStyle = `
select{font:inherit;border-radius:.4rem;border:1px solid var(--line);background:var(--card);color:inherit;padding:.55rem .7rem;min-height:2.75rem}
#checks{list-style:none;margin:0 0 .5rem;padding:0}
#checks li{display:flex;flex-wrap:wrap;gap:0 .6rem;padding:.35rem 0;border-bottom:1px solid var(--line)}
#checks .name{font-weight:600;min-width:11.5rem}
#checks .status{font:600 .85rem/1.8 ui-monospace,monospace;min-width:3.5rem}
#checks .detail{flex:1 1 18rem;min-width:0;overflow-wrap:anywhere}
#checks [data-status=pass] .status{color:var(--ok)}
#checks [data-status=warn] .status{color:var(--warn)}
#checks [data-status=fail] .status{color:var(--bad)}
#checks [data-status=running] .status,#checks [data-status=waiting] .status{color:var(--muted)}
.plot{display:block;width:100%;height:auto;margin:.25rem 0 .75rem}
@media (min-width:48rem){#plots:not([hidden]){display:grid;grid-template-columns:1fr 1fr;gap:0 1rem}#d-summary{grid-column:1/-1}}
.plot .dot{fill:var(--accent)}
.plot .line{fill:none;stroke:var(--accent);stroke-width:1;opacity:.5}
.plot .bar{fill:var(--accent)}
.plot .axis{stroke:var(--line)}
.plot .guide{stroke:var(--muted);stroke-dasharray:3 3;opacity:.7}
.plot text{fill:var(--muted);font:11px ui-monospace,monospace}
.plot .caption{fill:currentColor;font:600 12px system-ui,sans-serif}
#d-report{width:100%;margin-bottom:.7rem}
`

/** The section's script. */
export const diagnoseScript = `
// Diagnose: each check of the report, run in order against the Server field's URL.
const diag = { rounds: $("d-rounds"), idle: $("d-idle"), run: $("d-run"), copy: $("d-copy"), checks: $("checks"),
  plots: $("plots"), summary: $("d-summary"), series: $("d-series"), histogram: $("d-histogram"), report: $("d-report") }
// ?idle=SECONDS in the page's own URL offers a short idle survival, so that it can be tried (and tested) in seconds.
const shortIdle = Number(new URLSearchParams(location.search).get("idle"))
if (Number.isInteger(shortIdle) && shortIdle > 0 && shortIdle < 30) {
  diag.idle.add(new Option(shortIdle + " s", String(shortIdle), true, true), 1)
}
const WAIT_MS = 10000
const ONE_MIB = 1048576
const names = { reach: "reachability", upgrade: "upgrade", trips: "round trips", latency: "latency", saw: "what the server saw",
  close: "server close", idle: "idle survival" }
let report = null
const ms = (value) => Math.round(value * 100) / 100
const inWords = (n) => n >= ONE_MIB ? n / ONE_MIB + " MiB" : n >= 1024 ? n / 1024 + " KiB" : n + " B"
// The close codes a reader meets here, in words.
const codeWords = { 1000: "normal", 1001: "going away", 1006: "the connection broke, with no close frame", 1009: "message too big",
  1011: "server error", 1012: "service restart", 1013: "try again later" }
const closeWords = (event) => event.code + (codeWords[event.code] ? " (" + codeWords[event.code] + ")" : "") +
  (event.reason ? ", reason " + JSON.stringify(event.reason) : "")
const why = (error) => error instanceof CloseEvent ? "the socket closed with " + closeWords(error) : error.message
// A WebSocket as promises: its opening (with the time it took), its messages in order, its close.
function link(url, protocols) {
  const socket = new WebSocket(url, protocols || [])
  socket.binaryType = "arraybuffer"
  const started = performance.now(), inbox = []
  let waiter = null, ended = null
  const closed = new Promise((resolve) => socket.addEventListener("close", (event) => {
    ended = event
    resolve(event)
    if (waiter) waiter.reject(event)
  }))
  const opened = new Promise((resolve, reject) => {
    socket.onopen = () => resolve(performance.now() - started)
    closed.then(reject)
  })
  socket.onmessage = (event) => { if (waiter) waiter.resolve(event.data); else inbox.push(event.data) }
  const next = (wait = WAIT_MS) => inbox.length ? Promise.resolve(inbox.shift()) : ended ? Promise.reject(ended) :
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => { waiter = null; reject(new Error("nothing came back within " + wait / 1000 + " s")) }, wait)
      const done = (settle) => (value) => { clearTimeout(timer); waiter = null; settle(value) }
      waiter = { resolve: done(resolve), reject: done(reject) }
    })
  const close = () => { if (socket.readyState < 2) socket.close(1000) }
  return { socket, opened: within(opened, WAIT_MS, "the socket did not open within 10 s"), closed, next, close }
}
function within(promise, wait, message) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(message)), wait)
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })
}
// The URL the socket checks use: the Behaviour section's parameters taken out, so
// that a greeting or a delay asked for there does not change the result; others (room, tap) stay.
function plainOf(url, extra) {
  const plain = new URL(url)
  for (const input of fields) plain.searchParams.delete(input.name)
  for (const [key, value] of Object.entries(extra || {})) plain.searchParams.set(key, value)
  return plain.href
}
function row(key) {
  const item = document.createElement("li")
  item.dataset.check = key
  for (const [name, text] of [["name", names[key]], ["status", "waiting"], ["detail", ""]]) {
    const part = document.createElement("span")
    part.className = name
    part.textContent = text
    item.append(part)
  }
  item.dataset.status = "waiting"
  diag.checks.append(item)
  return item
}
function show(item, status, detail) {
  item.dataset.status = status
  item.querySelector(".status").textContent = status === "running" ? "…" : status
  item.querySelector(".detail").textContent = detail
}

// 1. Reachability: GET /health and a plain GET of the echo, whose 426 says the echo is there.
async function reachability(url) {
  const http = httpOf(url), health = new URL("/health", http)
  const started = performance.now()
  try {
    const answer = await within(fetch(health, { cache: "no-store" }), WAIT_MS, "no answer within 10 s")
    const took = ms(performance.now() - started)
    if (!answer.ok) return { status: "fail", up: true, detail: "the server answers, but GET /health said " + answer.status + ": it is up and unwell" }
    const plain = await within(fetch(http, { cache: "no-store" }), WAIT_MS, "no answer within 10 s")
    const body = await plain.json().catch(() => ({}))
    if (plain.status === 426) return { status: "pass", up: true, echo: true, detail: "the server is up: /health answered in " + took +
      " ms, and " + http.pathname + " answered a plain GET with 426 (it wants a WebSocket), so the echo is there" }
    if (plain.status === 400) return { status: "fail", up: true, refused: true, detail: "the server is up, but refuses this URL: " + (body.error || "400") }
    return { status: "fail", up: true, detail: "the server is up, but " + http.pathname + " answered a plain GET with " + plain.status +
      " where the echo answers 426: is this the echo's path?" }
  } catch (error) {
    if (location.protocol === "https:" && http.protocol === "http:") {
      return { status: "fail", detail: "this https page may not fetch http: (mixed content); use wss:// or open the page over http" }
    }
    // An answer without CORS headers is an error to fetch, and an opaque success when nothing is to be read.
    const opaque = await within(fetch(health, { mode: "no-cors", cache: "no-store" }), WAIT_MS, "").then(() => true, () => false)
    if (opaque) return { status: "warn", up: true, detail: "the server answers, but sends no CORS headers (an older version?), so " +
      "this page cannot read /health or the echo's 426; the WebSocket checks below still tell" }
    return { status: "fail", detail: "server down or unreachable: GET " + health.href + " got no answer (" + error.message + ")" }
  }
}

// 2. Upgrade: the URL as typed, behaviours and all, so that a refusal asked for (reject) shows here.
async function upgrade(url, offered, reach) {
  const socket = link(url, offered)
  try {
    const took = await socket.opened
    const agreed = socket.socket.protocol
    socket.close()
    const detail = "opened in " + ms(took) + " ms" + (agreed ? "; the server agreed to the subprotocol " + agreed :
      offered.length ? "; offered " + offered.join(", ") + " and the server agreed to none" : "")
    return { status: offered.length && !agreed ? "warn" : "pass", detail }
  } catch (error) {
    socket.close()
    const asked = new URL(url).searchParams.get("reject")
    const cause = asked ? "; the URL asks the server to refuse it (reject=" + asked + ")" :
      reach.refused ? "; the server refuses this URL's parameters, as reachability says" : reach.echo ?
      "; the echo answers over HTTP, so the server refused this upgrade or something on the way (a proxy that drops Upgrade) blocked it" :
      reach.up ? "; the server answers over HTTP, so the upgrade was refused or blocked on the way" : "; the server does not answer over HTTP either"
    const seen = error instanceof CloseEvent ? "the connection failed before it opened (a page sees only code " + error.code + ")" : error.message
    return { status: "fail", detail: seen + cause }
  }
}

// 3. Round trips: each message comes back as the prefix followed by what was sent, byte for byte.
const filled = (size) => { const bytes = new Uint8Array(size); for (let i = 0; i < size; i++) bytes[i] = (i * 31 + 7) & 255; return bytes }
const joined = (a, b) => { const all = new Uint8Array(a.length + b.length); all.set(a); all.set(b, a.length); return all }
function same(data, expected) {
  if (typeof data === "string" || typeof expected === "string") return data === expected
  const bytes = new Uint8Array(data)
  if (bytes.length !== expected.length) return false
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== expected[i]) return false
  return true
}
async function roundTrips(socket, state) {
  const text = "hello from the diagnosis"
  socket.socket.send(text)
  const first = await socket.next()
  if (typeof first !== "string" || !first.endsWith(text)) {
    return { status: "fail", detail: "text came back changed: sent " + JSON.stringify(text) + ", got " + JSON.stringify(String(first).slice(0, 80)) }
  }
  state.prefix = first.slice(0, first.length - text.length)
  const prefix = encoder.encode(state.prefix)
  const steps = [["UTF-8", "grüße, 你好, 👋"], ["binary", new Uint8Array([0, 1, 127, 128, 254, 255])],
    ["1 KiB", filled(1024)], ["64 KiB", filled(65536)], ["1 MiB", filled(ONE_MIB)]]
  for (const [name, data] of steps) {
    socket.socket.send(data)
    let back
    try { back = await socket.next(name === "1 MiB" ? 30000 : WAIT_MS) } catch (error) {
      const big = error instanceof CloseEvent && error.code === 1009
      return { status: name === "1 MiB" && big ? "warn" : "fail", detail: name + " failed: " + why(error) +
        (big ? ": the server's MAX_MESSAGE_BYTES, or a limit on the way, is below " + inWords(data.length) : "") +
        (name === "1 MiB" && big ? "; every smaller message came back intact" : "") }
    }
    const expected = typeof data === "string" ? state.prefix + data : joined(prefix, data)
    if (!same(back, expected)) return { status: "fail", detail: name + " came back changed (" +
      (typeof back === "string" ? encoder.encode(back).length : back.byteLength) + " bytes, expected " + (expected.length) + ")" }
  }
  return { status: "pass", detail: "text, UTF-8 and binary came back intact, and so did binary messages of 1 KiB, 64 KiB and 1 MiB " +
    "(1,048,576 bytes sent: the default MAX_MESSAGE_BYTES, which the server accepts; it echoes them " + prefix.length +
    " bytes longer, with its prefix " + JSON.stringify(state.prefix) + ")" }
}

// 4. Latency: N round trips of a small text, one after another.
const rank = (sorted, p) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]
async function latency(socket, state, count) {
  const samples = []
  for (let i = 0; i < count; i++) {
    const sent = performance.now()
    socket.socket.send("ping " + i)
    let back
    try { back = await socket.next(5000) } catch (error) {
      state.latency = figures(samples)
      return { status: "fail", detail: "round trip " + (i + 1) + " of " + count + " failed: " + why(error) }
    }
    samples.push(performance.now() - sent)
    if (typeof back !== "string" || !back.endsWith("ping " + i)) return { status: "fail", detail: "round trip " + (i + 1) + " came back changed or out of order" }
  }
  const result = state.latency = figures(samples)
  draw(result)
  const text = count + " round trips: p50 " + result.p50 + " ms, p90 " + result.p90 + " ms, p99 " + result.p99 + " ms, max " + result.max + " ms"
  return result.p99 > 1000 ? { status: "warn", detail: text + "; the slowest took over a second: jitter on the way" } : { status: "pass", detail: text }
}
function figures(samples) {
  const sorted = samples.slice().sort((a, b) => a - b)
  if (!sorted.length) return { p50: null, p90: null, p99: null, max: null, samples: [] }
  return { p50: ms(rank(sorted, 50)), p90: ms(rank(sorted, 90)), p99: ms(rank(sorted, 99)), max: ms(sorted[sorted.length - 1]),
    samples: samples.map(ms) }
}
// The plots, drawn as SVG by hand: each sample as a point in order, and a histogram of 20 bins from 0 to the max.
const SVG = diag.series.namespaceURI
function shape(parent, name, attributes, text) {
  const element = document.createElementNS(SVG, name)
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value))
  if (text !== undefined) element.textContent = text
  parent.append(element)
  return element
}
function draw({ p50, p90, p99, max, samples }) {
  const W = 400, H = 180, left = 56, bottom = 156, top = 24, width = W - left - 10, height = bottom - top
  const top_ = max || 1
  diag.series.replaceChildren()
  diag.histogram.replaceChildren()
  for (const svg of [diag.series, diag.histogram]) {
    shape(svg, "line", { class: "axis", x1: left, y1: bottom, x2: W - 10, y2: bottom })
    shape(svg, "line", { class: "axis", x1: left, y1: top, x2: left, y2: bottom })
  }
  const x = (i) => left + (samples.length > 1 ? (i / (samples.length - 1)) * width : width / 2)
  const y = (value) => bottom - (value / top_) * height
  shape(diag.series, "text", { x: left - 4, y: top + 8, "text-anchor": "end" }, ms(top_) + " ms")
  shape(diag.series, "text", { x: left, y: 12, class: "caption" }, "each round trip, in order")
  shape(diag.histogram, "text", { x: left, y: 12, class: "caption" }, "how many round trips took how long")
  shape(diag.series, "text", { x: left - 4, y: bottom, "text-anchor": "end" }, "0 ms")
  shape(diag.series, "text", { x: W - 10, y: H - 4, "text-anchor": "end" }, "message " + samples.length)
  shape(diag.series, "text", { x: left, y: H - 4 }, "message 1")
  for (const [name, value] of [["p50", p50], ["p99", p99]]) {
    shape(diag.series, "line", { class: "guide", x1: left, y1: y(value).toFixed(1), x2: W - 10, y2: y(value).toFixed(1) })
    shape(diag.series, "text", { x: W - 10, y: (y(value) - 3).toFixed(1), "text-anchor": "end" }, name)
  }
  shape(diag.series, "polyline", { class: "line", points: samples.map((v, i) => x(i).toFixed(1) + "," + y(v).toFixed(1)).join(" ") })
  samples.forEach((v, i) => shape(diag.series, "circle", { class: "dot", cx: x(i).toFixed(1), cy: y(v).toFixed(1), r: 2.5 },
    undefined).append(Object.assign(document.createElementNS(SVG, "title"), { textContent: "#" + (i + 1) + ": " + v + " ms" })))
  const bins = new Array(20).fill(0)
  for (const v of samples) bins[Math.min(19, Math.floor((v / top_) * 20))]++
  const most = Math.max(...bins, 1)
  bins.forEach((n, i) => {
    if (n) shape(diag.histogram, "rect", { class: "bar", x: left + (i * width) / 20 + 1, y: bottom - (n / most) * height,
      width: width / 20 - 2, height: (n / most) * height }).append(Object.assign(document.createElementNS(SVG, "title"),
      { textContent: n + " between " + ms((i * top_) / 20) + " and " + ms(((i + 1) * top_) / 20) + " ms" }))
  })
  shape(diag.histogram, "text", { x: left - 4, y: top + 8, "text-anchor": "end" }, most + "")
  shape(diag.histogram, "text", { x: left - 4, y: bottom, "text-anchor": "end" }, "0")
  shape(diag.histogram, "text", { x: left, y: H - 4 }, "0 ms")
  shape(diag.histogram, "text", { x: W - 10, y: H - 4, "text-anchor": "end" }, ms(top_) + " ms")
  diag.summary.textContent = "Round-trip times: p50 " + p50 + " ms · p90 " + p90 + " ms · p99 " + p99 + " ms · max " + max + " ms"
  diag.plots.hidden = false
}

// 5. What the server saw: info=true's first message.
const added = { via: "a proxy on the way names itself", forwarded: "a proxy on the way recorded the client and protocol",
  "x-forwarded-for": "a proxy forwarded the request for these addresses", "x-forwarded-proto": "the scheme the client used before a proxy",
  "x-forwarded-host": "the host the client asked for before a proxy", "x-forwarded-port": "the port the client used before a proxy",
  "x-real-ip": "the client's address as a proxy saw it" }
async function serverSaw(url) {
  const socket = link(plainOf(url, { info: "true" }))
  try {
    await socket.opened
    const info = JSON.parse(await socket.next())
    const headers = info.headers || {}, cf = info.cloudflare || {}
    const parts = ["address " + (info.address || "not reported"), info.httpVersion || "HTTP version not reported",
      cf.present ? "TLS " + (cf.tlsVersion || "not reported") + (cf.colo ? " at " + cf.colo : "") : "TLS not reported (not served by Cloudflare's network)"]
    const found = Object.keys(added).filter((name) => headers[name] !== undefined)
    for (const name of found) parts.push(name + ": " + headers[name] + " (" + added[name] + ")")
    if (!found.length) parts.push("no Via, Forwarded or X-Forwarded-* header: no proxy announced itself")
    const origin = headers.origin
    parts.push(origin === undefined ? "Origin did not arrive: something on the way removed it" : "Origin arrived: " + origin)
    const proxied = found.some((name) => name === "via" || name === "forwarded" || name === "x-forwarded-for")
    return { status: origin === undefined || proxied ? "warn" : "pass", detail: parts.join("; ") }
  } catch (error) {
    return { status: "fail", detail: error instanceof SyntaxError ? "the first message was not the info JSON: is info=true supported here?" : why(error) }
  } finally { socket.close() }
}

// 6. A server close: code 4001 and a UTF-8 reason, as the server sent them.
async function serverClose(url) {
  const reason = "diagnose: closed on request ✓"
  const socket = link(plainOf(url, { close_code: "4001", close_reason: reason }))
  try {
    await socket.opened
    const event = await within(socket.closed, WAIT_MS, "the server did not close within 10 s")
    if (event.code === 4001 && event.reason === reason) return { status: "pass", detail: "4001 and its reason " + JSON.stringify(reason) + " arrived intact" }
    return { status: "fail", detail: "the server closed with 4001 " + JSON.stringify(reason) + ", and this page got " + closeWords(event) +
      (event.code === 1006 ? ": the close frame was lost on the way" : ": something on the way rewrote it") }
  } catch (error) { return { status: "fail", detail: why(error) } } finally { socket.close() }
}

// 7. Idle survival: a socket that stays silent both ways for the time chosen, then one echo to show it is alive.
async function idleSurvival(url, seconds) {
  const socket = link(plainOf(url))
  try {
    await socket.opened
    const started = performance.now()
    const timer = new Promise((resolve) => setTimeout(resolve, seconds * 1000, "alive"))
    const first = await Promise.race([timer, socket.closed])
    if (first !== "alive") {
      const after = Math.round((performance.now() - started) / 100) / 10
      return { status: "fail", detail: "the silent socket died after " + after + " s with " + closeWords(first) +
        (first.code === 1001 && first.wasClean ? ": the server's own idle timeout (IDLE_TIMEOUT_SECONDS) is shorter" :
          ": something on the way drops sockets that are idle this long; keep a heartbeat below " + after + " s") }
    }
    socket.socket.send("still there?")
    await socket.next()
    return { status: "pass", detail: "survived " + seconds + " s of silence, and echoed after it" }
  } catch (error) { return { status: "fail", detail: why(error) } } finally { socket.close() }
}

// A check on a socket of its own, closed after it.
async function onSocket(url, check) {
  const socket = link(plainOf(url))
  try {
    await socket.opened
    return await check(socket)
  } finally { socket.close() }
}

async function diagnose() {
  const url = ui.url.value.trim()
  try { new URL(url) } catch { return ui.url.reportValidity() }
  const count = diag.rounds.valueAsNumber
  if (!diag.rounds.checkValidity() || !Number.isInteger(count)) return diag.rounds.reportValidity()
  const seconds = Number(diag.idle.value)
  const offered = ui.protocols.value.split(",").map((p) => p.trim()).filter(Boolean)
  diag.run.disabled = diag.copy.disabled = true
  diag.report.hidden = diag.plots.hidden = true
  diag.checks.replaceChildren()
  const keys = ["reach", "upgrade", "trips", "latency", "saw", "close"].concat(seconds ? ["idle"] : [])
  const rows = Object.fromEntries(keys.map((key) => [key, row(key)]))
  const state = { prefix: "", latency: figures([]) }
  const results = {}
  const step = async (key, run) => {
    show(rows[key], "running", "running…")
    let result
    try { result = await run() } catch (error) { result = { status: "fail", detail: why(error) } }
    show(rows[key], result.status, result.detail)
    results[key] = result
    return result
  }
  report = { url, at: new Date().toISOString(), checks: [], latency: state.latency }
  const reach = await step("reach", () => reachability(url))
  const opened = await step("upgrade", () => upgrade(url, offered, reach))
  if (opened.status === "fail") {
    for (const key of keys.slice(2)) await step(key, async () => ({ status: "fail", detail: "not run: it needs a WebSocket, and the upgrade failed" }))
  } else {
    await step("trips", () => onSocket(url, (socket) => roundTrips(socket, state)))
    await step("latency", () => onSocket(url, (socket) => latency(socket, state, count)))
    await step("saw", () => serverSaw(url))
    await step("close", () => serverClose(url))
    if (seconds) await step("idle", () => idleSurvival(url, seconds))
  }
  report.checks = keys.map((key) => ({ name: names[key], status: results[key].status, detail: results[key].detail }))
  report.latency = state.latency
  diag.run.disabled = diag.copy.disabled = false
  diag.checks.dataset.done = report.at
}
// Copy report: the JSON on the clipboard; where the browser refuses, in a box to copy by hand.
async function copyReport() {
  if (!report) return
  const json = JSON.stringify(report, null, 2)
  try {
    await navigator.clipboard.writeText(json)
    diag.copy.textContent = "Copied"
  } catch {
    diag.report.value = json
    diag.report.hidden = false
    diag.report.select()
    diag.copy.textContent = "Copy the JSON below"
  }
  setTimeout(() => { diag.copy.textContent = "Copy report" }, 2000)
}
diag.run.onclick = diagnose
diag.copy.onclick = copyReport
`
