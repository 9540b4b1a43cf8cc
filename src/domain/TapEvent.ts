/**
 * What a tap (`/echo?tap=NAME`) publishes about a socket, derived in one place from its connection machine's inputs
 * and outputs: every driver (the Worker's handler and stream, the Durable Object) calls `openEvents` once and
 * `stepEvents` after each step, and only carries the events to the tap. Pure: no clock, no I/O.
 *
 * The contract, fixed for clients and tests (one JSON text message per event, in order):
 * - `{"type":"open","connection","at","request":{method,url,httpVersion,ip,headers,cloudflare},"offered","protocol",
 *   "behaviours"}`
 * - `{"type":"message","connection","at","direction":"in"|"out","kind":"text"|"binary","bytes","preview","truncated"}`
 * - `{"type":"close","connection","at","by":"peer"|"server"|"transport","code","reason"}`: one per close frame
 * - `{"type":"end","connection","at", …the fields of the connection's log line (`logFields`)}`
 */
import { NO_STATUS_RECEIVED } from "./CloseFrame.js"
import { type ConnectionEnd, type Input, logFields, type Output } from "./ConnectionMachine.js"
import { byteLength, type Message } from "./Message.js"
import type { CloudflareInfo, RequestInfo } from "./RequestInfo.js"
import { parseSubprotocols } from "./Subprotocol.js"

/** The most bytes of a message a `message` event shows: text as text, binary as lowercase hex. */
export const MAX_PREVIEW_BYTES = 256

/** The most events a tap keeps for a watcher that arrives later. */
export const MAX_TAP_EVENTS = 100

/**
 * The most bytes (of the events' JSON) a tap keeps. 100 message events take at most ≈ 70 KiB; the bound is for
 * `open` events, whose headers may be large. The newest event is always kept, whatever its size.
 */
export const MAX_TAP_HISTORY_BYTES = 131_072

/** The most watchers one tap has at once; the next gets 503 `TAP_FULL`. */
export const MAX_TAP_WATCHERS = 10

/** The request a socket was opened with, as the `open` event shows it: `/whoami`'s object, its address as `ip`. */
export interface TapRequest {
  readonly method: string
  readonly url: string
  readonly httpVersion: string
  readonly ip: string | null
  readonly headers: Readonly<Record<string, string>>
  readonly cloudflare: CloudflareInfo
}

export interface TapOpen {
  readonly type: "open"
  readonly connection: string
  readonly at: string
  readonly request: TapRequest
  readonly offered: ReadonlyArray<string>
  readonly protocol: string | null
  readonly behaviours: ReadonlyArray<string>
}

export interface TapMessage {
  readonly type: "message"
  readonly connection: string
  readonly at: string
  readonly direction: "in" | "out"
  readonly kind: "text" | "binary"
  readonly bytes: number
  readonly preview: string
  readonly truncated: boolean
}

export interface TapClose {
  readonly type: "close"
  readonly connection: string
  readonly at: string
  /** `peer`: the client's close frame; `server`: ours; `transport`: the connection dropped with none. */
  readonly by: "peer" | "server" | "transport"
  /** null for a close frame without a code. */
  readonly code: number | null
  readonly reason: string
}

export interface TapEnd {
  readonly type: "end"
  readonly connection: string
  readonly at: string
  readonly [field: string]: unknown
}

/** One event of a tapped socket. */
export type TapEvent = TapOpen | TapMessage | TapClose | TapEnd

/** The socket a driver publishes events about: what its `open` event and its log line say of it. */
export interface TapSubject {
  readonly connection: string
  readonly protocol: string | undefined
  readonly request: RequestInfo
  readonly behaviours: ReadonlyArray<string>
}

const iso = (at: number): string => new Date(at).toISOString()

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"))

/** The first `MAX_PREVIEW_BYTES` UTF-8 bytes of `text`, cut at a character. */
const textPreview = (text: string): string => {
  let bytes = 0
  let i = 0
  while (i < text.length) {
    const code = text.codePointAt(i) as number
    const size = code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4
    if (bytes + size > MAX_PREVIEW_BYTES) break
    bytes += size
    i += code > 0xffff ? 2 : 1
  }
  return i === text.length ? text : text.slice(0, i)
}

const hexPreview = (data: ArrayBuffer): string => {
  const bytes = new Uint8Array(data, 0, Math.min(data.byteLength, MAX_PREVIEW_BYTES))
  let hex = ""
  for (let i = 0; i < bytes.length; i++) hex += HEX[bytes[i] as number]
  return hex
}

/**
 * A message's event: its kind, size in bytes (UTF-8 for text) and at most its first 256 bytes.
 *
 * @example
 * messageEvent("c1", "in", "hello", 0).preview // "hello"
 */
export const messageEvent = (connection: string, direction: "in" | "out", message: Message, at: number): TapMessage => {
  const bytes = byteLength(message)
  if (typeof message === "string") {
    const preview = textPreview(message)
    return {
      type: "message",
      connection,
      at: iso(at),
      direction,
      kind: "text",
      bytes,
      preview,
      truncated: preview.length < message.length
    }
  }
  return {
    type: "message",
    connection,
    at: iso(at),
    direction,
    kind: "binary",
    bytes,
    preview: hexPreview(message),
    truncated: bytes > MAX_PREVIEW_BYTES
  }
}

const closeEvent = (connection: string, by: TapClose["by"], code: number, reason: string, at: number): TapClose => ({
  type: "close",
  connection,
  at: iso(at),
  by,
  code: code === NO_STATUS_RECEIVED ? null : code,
  reason
})

/** The `end` event: the fields of the connection's log line, `extra` included (a room's `wakes`, `behaviours`). */
export const endEvent = (
  subject: Pick<TapSubject, "connection" | "protocol">,
  end: ConnectionEnd,
  at: number,
  extra?: Record<string, unknown>
): TapEnd => ({
  type: "end",
  connection: subject.connection,
  at: iso(at),
  ...logFields(end, subject.connection, subject.protocol, extra)
})

/** What a step's output did, as events, appended to `events`: its messages, its close frame, its end. */
const outputEvents = (
  events: Array<TapEvent>,
  subject: Pick<TapSubject, "connection" | "protocol">,
  out: Output,
  at: number,
  extra: Record<string, unknown> | undefined
): Array<TapEvent> => {
  const connection = subject.connection
  for (const message of out.send) events.push(messageEvent(connection, "out", message, at))
  if (out.close !== null) events.push(closeEvent(connection, "server", out.close.code, out.close.reason, at))
  if (out.ended !== null) events.push(endEvent(subject, out.ended, at, extra))
  return events
}

/**
 * The events of a socket's opening at `at`: `open`, then what the machine's `open` sent (info, greeting, a close at
 * once). Read `out` before the driver carries it out.
 */
export const openEvents = (subject: TapSubject, out: Output, at: number): Array<TapEvent> => {
  const { request } = subject
  const offered = request.headers["sec-websocket-protocol"]
  const open: TapOpen = {
    type: "open",
    connection: subject.connection,
    at: iso(at),
    request: {
      method: request.method,
      url: request.url,
      httpVersion: request.httpVersion,
      ip: request.address,
      headers: request.headers,
      cloudflare: request.cloudflare
    },
    offered: offered === undefined ? [] : (parseSubprotocols(offered) ?? []),
    protocol: subject.protocol ?? null,
    behaviours: subject.behaviours
  }
  return outputEvents([open], subject, out, at, undefined)
}

/**
 * The events of one step of a socket's machine at `at`: what came in (a peer's message, its close frame, a drop),
 * then what the step's output did (messages out, the server's close frame, the end with `extra` on its log line).
 * Echoes, greetings, pushes and broadcast copies are all `out`. Read `out` before the driver carries it out.
 *
 * @example
 * stepEvents(subject, { _tag: "Message", message: "hi" }, out, now) // [message in "hi", message out "echo: hi"]
 */
export const stepEvents = (
  subject: Pick<TapSubject, "connection" | "protocol">,
  input: Input,
  out: Output,
  at: number,
  extra?: Record<string, unknown>
): Array<TapEvent> => {
  const connection = subject.connection
  const events: Array<TapEvent> = []
  switch (input._tag) {
    case "Message":
      events.push(messageEvent(connection, "in", input.message, at))
      break
    case "PeerClose": {
      const dropped = input.wasClean === false || (input.wasClean === undefined && input.code === 1006)
      events.push(closeEvent(connection, dropped ? "transport" : "peer", input.code, input.reason, at))
      break
    }
    case "TransportLost":
      events.push(closeEvent(connection, "transport", 1006, "", at))
      break
  }
  return outputEvents(events, subject, out, at, extra)
}

/** What a tap keeps of one event: its JSON, as every watcher receives it, and its size. */
export interface TapEntry {
  readonly json: string
  readonly bytes: number
}

/**
 * How many of the oldest `entries` a tap drops so that at most `MAX_TAP_EVENTS` events and `MAX_TAP_HISTORY_BYTES`
 * bytes remain, the newest always kept; `bytes` is the total of all of them.
 *
 * @example
 * excess(entries, total) // entries.splice(0, n) keeps the history within its bounds
 */
export const excess = (entries: ReadonlyArray<TapEntry>, bytes: number): number => {
  let drop = Math.max(0, entries.length - MAX_TAP_EVENTS)
  for (let i = 0; i < drop; i++) bytes -= (entries[i] as TapEntry).bytes
  while (bytes > MAX_TAP_HISTORY_BYTES && drop < entries.length - 1) {
    bytes -= (entries[drop] as TapEntry).bytes
    drop++
  }
  return drop
}
