/**
 * The browser debug page served at `GET /` to clients that ask for HTML: one
 * self-contained document (no framework, no external requests) that connects to
 * this origin's `/echo`, sends text or hex-encoded binary, and logs every frame
 * with its time, the round trip of each echo, and the close code and reason.
 * Its behaviour section writes the query of `/echo` (see `parseScenario`) into
 * the URL field, and the browser's own constraint validation checks each value
 * against the range the server accepts, before a connection is tried.
 */

import { diagnoseScript, diagnoseSection, diagnoseStyle } from "./Diagnose.js"

const style = `
:root{color-scheme:light dark;--bg:#fafafa;--fg:#1b1b1b;--muted:#666;--line:#ccc;--card:#fff;--accent:#0b62d6;--ok:#17803d;--bad:#b42318;--warn:#9a5b00}
@media (prefers-color-scheme:dark){:root{--bg:#161616;--fg:#e8e8e8;--muted:#9a9a9a;--line:#3a3a3a;--card:#202020;--accent:#6ea8ff;--ok:#4cc27a;--bad:#ff7b72;--warn:#e3a83a}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,sans-serif}
main{max-width:56rem;margin:0 auto;padding:1rem;display:flex;flex-direction:column;gap:.75rem;min-height:100vh;min-height:100dvh}
header{display:flex;align-items:baseline;justify-content:space-between;gap:.5rem;flex-wrap:wrap}
h1{font-size:1.25rem;margin:0}
form{display:flex;flex-wrap:wrap;gap:.5rem;margin:0}
label{font-size:.85rem;color:var(--muted);width:100%}
.row{display:flex;flex-wrap:wrap;align-items:center;gap:.5rem;width:100%}
.pair{display:flex;align-items:center;gap:.5rem;width:auto}
.grow{flex:1 1 8rem;min-width:0}
.pair input{font-size:1rem}
input,textarea,button{font:inherit;border-radius:.4rem;border:1px solid var(--line);background:var(--card);color:inherit;padding:.55rem .7rem;min-height:2.75rem}
input,textarea{flex:1 1 14rem;min-width:0}
textarea{resize:vertical;font-family:ui-monospace,monospace}
.small{flex:0 0 5.5rem}
button{cursor:pointer;background:var(--accent);border-color:var(--accent);color:#fff;font-weight:600}
button.plain{background:var(--card);color:inherit;border-color:var(--line);font-weight:400}
button:disabled{opacity:.45;cursor:not-allowed}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px}
#state{font-weight:600;padding:.15rem .6rem;border-radius:1rem;border:1px solid currentColor;font-size:.9rem}
#state[data-state=open]{color:var(--ok)}
#state[data-state=closed],#state[data-state=error]{color:var(--bad)}
.hint{font-size:.8rem;color:var(--muted);margin:0;width:100%}
#log{flex:1 1 12rem;min-height:12rem;overflow:auto;margin:0;padding:.25rem .5rem;list-style:none;background:var(--card);border:1px solid var(--line);border-radius:.4rem;font:.85rem/1.4 ui-monospace,monospace}
#log li{padding:.3rem 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:0 .6rem}
#log time,#log .meta{color:var(--muted)}
#log .body{flex:1 1 100%;white-space:pre-wrap;overflow-wrap:anywhere}
#log .sent .kind{color:var(--accent)}
#log .received .kind{color:var(--ok)}
#log .error .kind,#log .closed .kind{color:var(--bad)}
#log a{color:var(--accent)}
#behaviour>.hint{margin-bottom:.25rem}
details{width:100%;border:1px solid var(--line);border-radius:.4rem;background:var(--card);padding:0 .7rem}
summary{cursor:pointer;font-weight:600;padding:.6rem 0}
.fields{display:grid;grid-template-columns:repeat(auto-fill,minmax(12rem,1fr));gap:.5rem 1rem;padding:.5rem 0 .7rem}
.hint span{white-space:nowrap}
.field{display:flex;flex-wrap:wrap;align-items:center;gap:.2rem .5rem;align-content:start}
.field label{width:auto;font:.9rem ui-monospace,monospace;color:inherit}
.field input{flex:1 1 100%}
.field input[type=checkbox]{flex:none;width:1.4rem;height:1.4rem;min-height:0;margin:0;accent-color:var(--accent)}
.field input:invalid{border-color:var(--bad);outline:1px solid var(--bad)}
#tap{flex:none;width:1.4rem;height:1.4rem;min-height:0;margin:0;accent-color:var(--accent)}
.tap{padding-top:.25rem}
.tap label{font-size:.95rem;color:inherit}
.tap a{color:var(--accent);overflow-wrap:anywhere;font:.85rem ui-monospace,monospace}
${diagnoseStyle}`

const script = String.raw`
"use strict"
const $ = (id) => document.getElementById(id)
const ui = { url: $("url"), protocols: $("protocols"), connect: $("connect"), disconnect: $("disconnect"), code: $("code"), reason: $("reason"),
  message: $("message"), text: $("send-text"), binary: $("send-binary"), log: $("log"), state: $("state"), behaviour: $("behaviour"),
  tap: $("tap"), tapLink: $("tap-link") }
const echo = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/echo"
ui.url.value = echo
const fields = Array.from(ui.behaviour.querySelectorAll(".fields input"))
const encoder = new TextEncoder()
let socket = null
let sentAt = []
let last = ""
let closedHere = false
const clock = (now = new Date()) => now.toTimeString().slice(0, 8) + "." + String(now.getMilliseconds()).padStart(3, "0")
const hex = (bytes) => Array.from(bytes.subarray(0, 256), (b) => b.toString(16).padStart(2, "0")).join(" ") +
  (bytes.length > 256 ? " …" : "")
const shorten = (text) => text.length > 2000 ? text.slice(0, 2000) + " …" : text
const kinds = { sent: "→ sent", received: "← received", event: "• event", closed: "× closed", error: "! error" }
function entry(kind, body, meta, link) {
  const item = document.createElement("li")
  item.className = kind
  const parts = [["time", clock()], ["span", kinds[kind], "kind"], ["span", meta || "", "meta"], ["span", body, "body"]]
  for (const [tag, text, name] of parts) {
    const part = document.createElement(tag)
    part.textContent = text
    if (name) part.className = name
    item.append(part)
  }
  if (link) {
    const a = document.createElement("a")
    a.href = a.textContent = link
    a.target = "_blank"
    a.rel = "noopener"
    item.lastChild.append(a)
  }
  const atEnd = ui.log.scrollHeight - ui.log.scrollTop - ui.log.clientHeight < 40
  ui.log.append(item)
  if (ui.log.childElementCount > 1000) ui.log.firstElementChild.remove()
  if (atEnd) ui.log.scrollTop = ui.log.scrollHeight
}
function render(state) {
  const open = state === "open"
  ui.state.textContent = state
  ui.state.dataset.state = state
  ui.connect.disabled = state === "connecting" || open || state === "closing"
  ui.disconnect.disabled = !open && state !== "connecting"
  ui.text.disabled = ui.binary.disabled = !open
}
// A field's value as the query carries it: "" leaves the parameter out.
const param = (input) => input.type === "checkbox" ? (input.checked ? "true" : "") :
  input.type === "number" && input.value ? String(input.valueAsNumber) : input.value
// What min, max and step cannot say: a limit in UTF-8 bytes, numbers left out of the range, a parameter needed.
function check(input) {
  const text = param(input), { bytes, gaps, needs } = input.dataset
  const gap = text && gaps && gaps.split(" ").some((g) => { const [a, b = a] = g.split("-"); return +text >= +a && +text <= +b })
  input.setCustomValidity(bytes && encoder.encode(text).length > +bytes ? "At most " + bytes + " UTF-8 bytes." :
    gap ? text + " is not allowed." : needs && text && !param(ui.behaviour.querySelector("[name=" + needs + "]")) ? "Needs " + needs + "." : "")
}
// The section writes its parameters into the URL's query; any other parameter typed there by hand stays.
function toUrl() {
  fields.forEach(check)
  let url
  try { url = new URL(ui.url.value.trim()) } catch { url = new URL(echo) }
  const query = new URLSearchParams(url.search)
  for (const input of fields) query.delete(input.name)
  for (const input of fields) if (param(input)) query.append(input.name, param(input))
  url.search = query.toString()
  ui.url.value = url.href
}
// A URL edited by hand shows in the section, so the two never disagree.
function toSection() {
  let query
  try { query = new URL(ui.url.value.trim()).searchParams } catch { return }
  for (const input of fields) {
    const text = query.get(input.name)
    if (input.type === "checkbox") input.checked = text === "true"
    else input.value = text === null ? "" : text
  }
  fields.forEach(check)
  showTap()
}
// A WebSocket URL (ws: or wss:) as the HTTP one (http: or https:) of the same server.
function httpOf(url) {
  const http = new URL(url)
  http.protocol = http.protocol === "wss:" ? "https:" : "http:"
  return http
}
// The tap switch: a random name in the URL as tap=NAME, and the link to watch it, /tap/NAME on the same server.
const TAP_NAME = /^[A-Za-z0-9._-]{8,64}$/
const tapName = () => Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => (b % 36).toString(36)).join("")
function tapSwitch() {
  let url
  try { url = new URL(ui.url.value.trim()) } catch { url = new URL(echo) }
  if (ui.tap.checked) url.searchParams.set("tap", tapName())
  else url.searchParams.delete("tap")
  ui.url.value = url.href
  showTap()
}
function showTap() {
  let url, name = null
  try { url = new URL(ui.url.value.trim()); name = url.searchParams.get("tap") } catch {}
  const tapped = name !== null && TAP_NAME.test(name)
  ui.tap.checked = tapped
  ui.tapLink.hidden = !tapped
  if (tapped) ui.tapLink.href = ui.tapLink.textContent = new URL("/tap/" + name, httpOf(url)).href
}
function connect() {
  if (socket && socket.readyState < 2) return
  const invalid = [ui.url, ...fields].find((input) => !input.checkValidity())
  if (invalid) {
    if (invalid !== ui.url) ui.behaviour.open = true
    invalid.reportValidity()
    return entry("error", invalid === ui.url ? "URL: " + invalid.validationMessage :
      invalid.name + ": " + invalid.validationMessage + " Not connecting: the server would refuse it with 400.")
  }
  let next
  const offered = ui.protocols.value.split(",").map((p) => p.trim()).filter(Boolean)
  try { next = new WebSocket(ui.url.value.trim(), offered) } catch (e) { return entry("error", e.message) }
  socket = next
  sentAt = []
  closedHere = false
  let opened = false
  next.binaryType = "arraybuffer"
  render("connecting")
  entry("event", "connecting to " + next.url + (offered.length ? " offering " + offered.join(", ") : ""))
  next.onopen = () => {
    opened = true
    render("open")
    entry("event", "open" + (next.protocol ? " · subprotocol " + next.protocol : offered.length ? " · no subprotocol" : ""))
    ui.message.focus()
  }
  next.onmessage = (event) => {
    const rtt = sentAt.length ? " · rtt " + (performance.now() - sentAt.shift()).toFixed(1) + " ms" : ""
    if (typeof event.data === "string") entry("received", shorten(event.data), "text · " + encoder.encode(event.data).length + " B" + rtt)
    else entry("received", hex(new Uint8Array(event.data)), "binary · " + event.data.byteLength + " B" + rtt)
  }
  next.onerror = () => entry("error", "the connection failed or broke; the close code says more")
  next.onclose = (event) => {
    render("closed")
    entry("closed", "code " + event.code + (event.reason ? " · reason " + JSON.stringify(event.reason) : " · no reason") +
      (closedHere ? "" : event.wasClean ? " · by the server" : opened ? " · the connection broke" : ""), event.wasClean ? "clean" : "not clean")
    if (!opened && !closedHere) refused(next.url)
    if (socket === next) socket = null
  }
}
// A refused upgrade is only error and 1006 to a page: it says what it can, and where the server's answer is.
function refused(url) {
  const status = new URL(url).searchParams.get("reject")
  entry("error", "The server refused the upgrade, or could not be reached" + (status ? " (reject=" + status + " asks it to refuse with " +
    status + ")" : "") + ". A page cannot read the HTTP status; the browser's console may show it. Over HTTP the URL answers 400 " +
    "naming a wrong parameter, or 426 if the parameters are fine: ", "", url.replace(/^ws/, "http"))
}
function disconnect() {
  if (!socket) return
  const code = ui.code.value.trim()
  try {
    if (code) socket.close(Number(code), ui.reason.value)
    else socket.close()
    closedHere = true
    render("closing")
  } catch (e) { entry("error", e.message) }
}
function send(binary) {
  if (!socket || socket.readyState !== 1) return
  const value = ui.message.value
  let data = value
  if (binary) {
    const digits = value.replace(/0x|[\s,:]/gi, "")
    if (!/^([0-9a-f]{2})*$/i.test(digits)) return entry("error", "not hex: write bytes as pairs of hex digits, e.g. de ad be ef")
    data = new Uint8Array(digits.length / 2).map((_, i) => parseInt(digits.slice(2 * i, 2 * i + 2), 16))
  }
  socket.send(data)
  sentAt.push(performance.now())
  if (binary) entry("sent", hex(data), "binary · " + data.length + " B")
  else entry("sent", shorten(value), "text · " + encoder.encode(value).length + " B")
  last = value
  ui.message.value = ""
  ui.message.focus()
}
$("connection").onsubmit = (event) => { event.preventDefault(); connect() }
ui.tap.oninput = tapSwitch
ui.behaviour.oninput = toUrl
ui.url.oninput = toSection
ui.disconnect.onclick = disconnect
$("compose").onsubmit = (event) => { event.preventDefault(); send(false) }
ui.binary.onclick = () => send(true)
$("clear").onclick = () => ui.log.replaceChildren()
ui.message.onkeydown = (event) => {
  if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); send(event.ctrlKey || event.metaKey) }
  else if (event.key === "ArrowUp" && !ui.message.value) { event.preventDefault(); ui.message.value = last }
}
render("disconnected")
${diagnoseScript}`

/**
 * The behaviour section, one field per parameter of `/echo` in the order of `behaviourParameters` (with `room`
 * before `broadcast`, which needs it): its name, its input's attributes, and a hint with the range the server
 * accepts. `data-bytes`, `data-gaps` and `data-needs` are what the page's script checks besides min and max.
 */
const behaviour: ReadonlyArray<readonly [name: string, attributes: string, hint: string, range: string]> = [
  ["greeting", 'data-bytes="1024"', "sent right after the upgrade", "up to 1,024 bytes"],
  ["delay_ms", 'type="number" min="0" max="10000"', "each echo this late", "0–10,000"],
  ["accept_delay_ms", 'type="number" min="0" max="10000"', "the 101 this late", "0–10,000"],
  [
    "close_code",
    'type="number" min="1000" max="4999" data-gaps="1004-1006 1015-2999"',
    "the server closes",
    "1000–1003, 1007–1014, 3000–4999"
  ],
  ["close_reason", 'data-bytes="123"', "with this reason", "up to 123 bytes"],
  ["close_after", 'type="number" min="0" max="1000000"', "after this many echoes", "0–1,000,000"],
  ["close_after_ms", 'type="number" min="0" max="3600000"', "or ms after the upgrade", "0–3,600,000"],
  ["push", 'data-bytes="1024"', "sent by the server on its own", "up to 1,024 bytes"],
  [
    "push_every_ms",
    'type="number" min="10" max="3600000" data-needs="push"',
    "every this many ms",
    "10–3,600,000, default 1,000"
  ],
  ["push_count", 'type="number" min="1" max="10000" data-needs="push"', "this many times", "1–10,000, default 1"],
  [
    "reject",
    'type="number" min="400" max="599" data-gaps="426"',
    "refuse the upgrade with this status",
    "400–599 but 426"
  ],
  ["retry_after", 'type="number" min="0" max="86400" data-needs="reject"', "with Retry-After, in seconds", "0–86,400"],
  ["stall", 'type="checkbox"', "then silence until the idle timeout", "true when ticked"],
  ["info", 'type="checkbox"', "first, the connection as JSON", "true when ticked"],
  ["room", 'pattern="[A-Za-z0-9._\\-]{1,64}"', "the room's name", "1–64 of A–Z a–z 0–9 . _ -"],
  ["broadcast", 'type="checkbox" data-needs="room"', "every message to the whole room", "true when ticked, needs room"]
]

const field = ([name, attributes, hint, range]: (typeof behaviour)[number]) => {
  const input = `<input id="p-${name}" name="${name}" ${attributes} aria-describedby="h-${name}">`
  const label = `<label for="p-${name}">${name}</label>`
  const check = attributes.startsWith('type="checkbox"')
  // A range breaks at its commas only, never at a dash.
  const ranges = range
    .split(", ")
    .map((part) => `<span>${part}</span>`)
    .join(", ")
  return `<div class="field">${check ? input + label : label + input}<p id="h-${name}" class="hint">${hint} · ${ranges}</p></div>`
}

const body = `<main>
<header><h1>WebSocket echo</h1><output id="state" aria-live="polite">disconnected</output></header>
<form id="connection" autocomplete="off" novalidate>
<label for="url">Server</label>
<input id="url" type="url" inputmode="url" autocomplete="off" spellcheck="false" required>
<button id="connect">Connect</button>
<div class="row">
<label class="pair grow">Subprotocols <input id="protocols" autocomplete="off" spellcheck="false" placeholder="optional, e.g. graphql-ws, mqtt"></label>
</div>
<div class="row">
<label class="pair">Close code <input id="code" class="small" inputmode="numeric" value="1000"></label>
<label class="pair grow">reason <input id="reason" maxlength="123" placeholder="optional"></label>
<button id="disconnect" type="button" class="plain">Disconnect</button>
</div>
<details id="behaviour"><summary>Behaviour</summary>
<p class="hint">Asks the server for a greeting, latency, pushes, a close or a refusal: each filled field goes into the URL's query.</p>
<div class="row tap"><label class="pair"><input id="tap" type="checkbox" aria-describedby="h-tap"> tap this connection</label>
<a id="tap-link" target="_blank" rel="noopener" hidden></a>
<p id="h-tap" class="hint">puts a random name in the URL as tap=NAME; whoever knows the name can watch what reaches the server at the link</p></div>
<div class="fields">
${behaviour.map(field).join("\n")}
</div>
</details>
</form>
${diagnoseSection}
<form id="compose">
<label for="message">Message</label>
<textarea id="message" rows="2" placeholder="hello" spellcheck="false"></textarea>
<button id="send-text">Send as text</button>
<button id="send-binary" type="button" class="plain">Send as binary (hex)</button>
<p class="hint">Enter sends text · Ctrl+Enter sends the hex as binary · Shift+Enter for a new line · ↑ recalls the last message</p>
</form>
<ol id="log" role="log" aria-label="Frames" aria-live="polite"></ol>
<p><button id="clear" type="button" class="plain">Clear log</button></p>
</main>`

/** The HTML document; its script and style are inline, allowed by hash in `debugPageSecurityPolicy`. */
export const debugPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>WebSocket echo</title>
<link rel="icon" href="data:,">
<style>${style}</style>
</head>
<body>
${body}
<script>${script}</script>
</body>
</html>
`

/**
 * The page's Content-Security-Policy: nothing loads from anywhere, only the page's own inline script and style
 * run (by hash), and WebSockets may go to any host, because the page's URL field is there to try other servers.
 * Over HTTP the page may fetch two paths of any host, and nothing else: `/health` and `/echo`, which the Diagnose
 * section asks of whichever server the URL field names, to tell a server that is down from an upgrade blocked on
 * the way. The hashes are of `style` and `script` above; a test recomputes them.
 */
export const debugPageSecurityPolicy = [
  "default-src 'none'",
  "script-src 'sha256-wW4CWeuXRWw+iNr+IHzU414H8d9Nf40KGYZye9QbXiE='",
  "style-src 'sha256-fBNTKnra2rSLVfAShOCcVDc66hGOvTbMWM2zZ8Q14CY='",
  "img-src data:",
  "connect-src ws: wss: http://*:*/health https://*:*/health http://*:*/echo https://*:*/echo",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")
