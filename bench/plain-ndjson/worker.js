// The part of @effect/rpc's WebSocket protocol (NDJSON framing) that the benchmark's calls use, written by hand:
// each `Request` line for `Echo` is answered with the frame @effect/rpc's server sends for it, `Ping` with `Pong`.
// The baseline for our Worker's `/rpc?serialization=ndjson`. Benchmark only; never shipped.
const PREFIX = "echo: "
const NOT_WEBSOCKET = JSON.stringify({
  error: "Expected WebSocket upgrade request (Upgrade: websocket)",
  code: "NOT_WEBSOCKET"
})
const PONG = '{"_tag":"Pong"}\n'
// What @effect/rpc encodes for `Echo`'s typed failure (`EmptyText`) and for a request it cannot serve.
const EMPTY_TEXT = { _tag: "Failure", cause: { _tag: "Fail", error: { _tag: "EmptyText" } } }
const defect = (defect) => `${JSON.stringify({ _tag: "Defect", defect })}\n`

/** The frame that answers one NDJSON line, or undefined for the messages that get none (Ack, Eof, Interrupt). */
const answer = (line) => {
  let message
  try {
    message = JSON.parse(line)
  } catch (error) {
    return defect(String(error))
  }
  if (message._tag === "Ping") return PONG
  if (message._tag !== "Request") return undefined
  if (message.tag !== "Echo") return defect(`Unknown request tag: ${message.tag}`)
  const text = message.payload?.text
  if (typeof text !== "string") return defect("Echo's payload needs a string text")
  const exit = text === "" ? EMPTY_TEXT : { _tag: "Success", value: PREFIX + text }
  return `${JSON.stringify({ _tag: "Exit", requestId: String(message.id), exit })}\n`
}

export default {
  /** @param {Request} request */
  async fetch(request) {
    const url = new URL(request.url)
    if (url.pathname !== "/rpc") return new Response("not found", { status: 404 })
    if (request.method !== "GET" || request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
      return new Response(NOT_WEBSOCKET, { status: 426, headers: { "content-type": "application/json" } })
    }
    const [client, server] = Object.values(new WebSocketPair())
    server.binaryType = "arraybuffer"
    server.accept()
    const decoder = new TextDecoder()
    let buffer = ""
    server.addEventListener("message", (event) => {
      buffer += typeof event.data === "string" ? event.data : decoder.decode(event.data, { stream: true })
      let start = 0
      for (let end = buffer.indexOf("\n"); end !== -1; end = buffer.indexOf("\n", start)) {
        const frame = answer(buffer.slice(start, end))
        if (frame !== undefined) server.send(frame)
        start = end + 1
      }
      buffer = start === buffer.length ? "" : buffer.slice(start)
    })
    server.addEventListener("close", (event) => {
      const code = event.code === 1005 || event.code === 1006 ? 1000 : event.code
      try {
        server.close(code, event.reason)
      } catch {
        server.close(1000)
      }
    })
    return new Response(null, { status: 101, webSocket: client })
  }
}
