// @effect/rpc's WebSocket protocol with NDJSON framing, as the load client speaks it: pre-encoded `Echo`
// requests and the exact frames @effect/rpc's server answers them with (`RpcServer.ts`, `RpcSerialization.ts`).
import { clientFrame, type Exchange, serverFrame, TEXT } from "./client.js"

/** Where our Worker serves `EchoRpcs` with NDJSON framing; the plain baseline (T8) answers on it too. */
export const RPC_PATH = "/rpc?serialization=ndjson"

/** Request ids per connection, used in turn: an id comes back into use only long after its call ended. */
const IDS = 64

const line = (message: object) => Buffer.from(`${JSON.stringify(message)}\n`)

/**
 * `Echo({ text })` calls, one request per frame (the optional `traceId`, `spanId` and `sampled` left out), each
 * answered by its `Exit` frame: `requestId` the request's id, the value the prefix and `text`. The answer is
 * compared byte for byte, which checks its JSON, its `requestId` and its value at once (and that nothing else
 * came along). A non-stream call needs nothing more from the client: `Ack`s are for stream chunks only.
 */
export const echoCalls = (text: string, prefix: string): Exchange => {
  const ids = Array.from({ length: IDS }, (_, i) => String(i))
  return {
    path: RPC_PATH,
    sends: ids.map((id) =>
      clientFrame(TEXT, line({ _tag: "Request", id, tag: "Echo", payload: { text }, headers: [] }))
    ),
    expects: ids.map((id) =>
      serverFrame(TEXT, line({ _tag: "Exit", requestId: id, exit: { _tag: "Success", value: prefix + text } }))
    )
  }
}

/** One `Echo({ text })` call (request id 0) and its `Exit` frame: a fresh isolate's first call. */
export const echoCall = (text: string, prefix: string): Exchange => {
  const calls = echoCalls(text, prefix)
  return { path: RPC_PATH, sends: calls.sends.slice(0, 1), expects: calls.expects.slice(0, 1) }
}

/** The protocol's keep-alive: `Ping` answered by `Pong`. */
export const ping: Exchange = {
  path: RPC_PATH,
  sends: [clientFrame(TEXT, line({ _tag: "Ping" }))],
  expects: [serverFrame(TEXT, line({ _tag: "Pong" }))]
}
