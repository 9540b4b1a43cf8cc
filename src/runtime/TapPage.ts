/**
 * The page served at `GET /tap/NAME` to a browser: one self-contained document (no framework, no external requests)
 * that watches the tap over `/tap/NAME` and shows each event as a row, live: the handshake of each socket
 * (expandable), its messages in and out (text as text, binary as hex, with their size), its close frames and its
 * end. The tap's name is read from the page's own URL, so the script is the same for every tap (its hash is fixed).
 */

const style = `
:root{color-scheme:light dark;--bg:#fafafa;--fg:#1b1b1b;--muted:#666;--line:#ccc;--card:#fff;--accent:#0b62d6;--ok:#17803d;--bad:#b42318}
@media (prefers-color-scheme:dark){:root{--bg:#161616;--fg:#e8e8e8;--muted:#9a9a9a;--line:#3a3a3a;--card:#202020;--accent:#6ea8ff;--ok:#4cc27a;--bad:#ff7b72}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.45 system-ui,sans-serif}
main{max-width:64rem;margin:0 auto;padding:1rem;display:flex;flex-direction:column;gap:.75rem}
header{display:flex;align-items:baseline;justify-content:space-between;gap:.5rem;flex-wrap:wrap}
h1{font-size:1.25rem;margin:0;overflow-wrap:anywhere}
p{margin:0}
.hint{font-size:.85rem;color:var(--muted)}
#state{font-weight:600;padding:.15rem .6rem;border-radius:1rem;border:1px solid currentColor;font-size:.9rem}
#state[data-state=watching]{color:var(--ok)}
#state[data-state=closed]{color:var(--bad)}
#events{margin:0;padding:.25rem .5rem;list-style:none;background:var(--card);border:1px solid var(--line);border-radius:.4rem;font:.85rem/1.4 ui-monospace,monospace}
#events li{padding:.3rem 0;border-bottom:1px solid var(--line);display:flex;flex-wrap:wrap;gap:0 .6rem}
#events .meta,#events time{color:var(--muted)}
#events .kind{font-weight:600}
#events .in .kind{color:var(--ok)}
#events .out .kind{color:var(--accent)}
#events .close .kind,#events .end .kind{color:var(--bad)}
#events .body{flex:1 1 100%;white-space:pre-wrap;overflow-wrap:anywhere}
details{flex:1 1 100%}
summary{cursor:pointer}
pre{margin:.25rem 0;white-space:pre-wrap;overflow-wrap:anywhere}
`

const script = String.raw`
"use strict"
const name = decodeURIComponent(location.pathname.split("/").filter(Boolean).pop() || "")
const list = document.getElementById("events")
const state = document.getElementById("state")
document.getElementById("name").textContent = "Tap " + name
document.title = "Tap " + name
const short = (id) => String(id).slice(0, 8)
const spaced = (hex) => hex.replace(/(..)(?!$)/g, "$1 ")
function cell(item, tag, text, kind) {
  const part = document.createElement(tag)
  part.textContent = text
  if (kind) part.className = kind
  item.append(part)
  return part
}
function row(event) {
  const item = document.createElement("li")
  item.className = event.type === "message" ? event.direction : event.type
  item.dataset.type = event.type
  cell(item, "time", String(event.at).slice(11, 23))
  cell(item, "span", short(event.connection), "meta")
  if (event.type === "open") {
    cell(item, "span", "open", "kind")
    cell(item, "span", event.request.method + " " + event.request.url, "body")
    const details = document.createElement("details")
    cell(details, "summary", "handshake: " + Object.keys(event.request.headers).length + " headers, protocol " +
      (event.protocol === null ? "none" : event.protocol))
    cell(details, "pre", JSON.stringify({ request: event.request, offered: event.offered, protocol: event.protocol,
      behaviours: event.behaviours }, null, 2))
    item.append(details)
  } else if (event.type === "message") {
    cell(item, "span", (event.direction === "in" ? "← in " : "→ out ") + event.kind, "kind")
    cell(item, "span", event.bytes + " B" + (event.truncated ? ", first 256 shown" : ""), "meta")
    cell(item, "span", (event.kind === "binary" ? spaced(event.preview) : event.preview) + (event.truncated ? " …" : ""), "body")
  } else if (event.type === "close") {
    cell(item, "span", "close by " + event.by, "kind")
    cell(item, "span", (event.code === null ? "no code" : String(event.code)) + (event.reason ? " " + event.reason : ""), "body")
  } else if (event.type === "end") {
    cell(item, "span", "end", "kind")
    const { type, connection, at, ...fields } = event
    cell(item, "span", JSON.stringify(fields), "body")
  } else {
    cell(item, "span", JSON.stringify(event), "body")
  }
  list.append(item)
  if (list.children.length > 1000) list.firstElementChild.remove()
}
const socket = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/tap/" + encodeURIComponent(name))
socket.addEventListener("open", () => { state.textContent = "watching"; state.dataset.state = "watching" })
socket.addEventListener("message", (message) => row(JSON.parse(message.data)))
socket.addEventListener("close", (event) => {
  state.textContent = "closed (" + event.code + ")"
  state.dataset.state = "closed"
})
`

const body = `<main>
<header><h1 id="name">Tap</h1><span id="state" role="status" data-state="connecting">connecting</span></header>
<p class="hint">Every socket opened with <code>?tap=</code> and this name shows here, live: its handshake, each message
in and out, its close frames and its end. Whoever knows the name sees the traffic.</p>
<ol id="events" role="log" aria-label="Events" aria-live="polite"></ol>
</main>`

/** The HTML document; its script and style are inline, allowed by hash in `tapPageSecurityPolicy`. */
export const tapPage = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Tap</title>
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
 * The page's Content-Security-Policy, as strict as the debug page's: nothing loads from anywhere, only the page's
 * own inline script and style run (by hash), and its one WebSocket goes to this origin's `/tap/NAME` (`'self'`
 * covers ws: and wss: of the same host). The hashes are of `style` and `script` above; a test recomputes them.
 */
export const tapPageSecurityPolicy = [
  "default-src 'none'",
  "script-src 'sha256-dqtyeZe+jZzuWll6BFc0AF5zIWDQ10i5rS6/KH5mhZk='",
  "style-src 'sha256-yqW+JW0V5T2vJpVyMO829KAslZo3+GCMQkLBTxyeJ2c='",
  "img-src data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'"
].join("; ")
