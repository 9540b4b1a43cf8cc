import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { startWranglerDev, type WranglerDev } from "../support/wranglerDev.js"
import { platformGap } from "./platformGap.js"
import { closePayload, type Frame, handshake, Op, type RawSocket, upgraded } from "./rawSocket.js"

const port = inject("port")
/** Sockets live in hibernating Durable Objects (ECHO_BACKEND = durable-object). */
const hibernating = inject("mode") === "durable-object"

/** How the server ended TCP: `end` is its FIN; `hadError` is a reset or another socket error. */
const tcpEnd = (socket: RawSocket) =>
  new Promise<{ readonly fin: boolean; readonly hadError: boolean }>((resolve) => {
    let fin = false
    socket.socket.once("end", () => (fin = true))
    socket.socket.once("close", (hadError) => resolve({ fin, hadError }))
  })

/** A reason of exactly 123 UTF-8 bytes, the most a close frame holds, with multi-byte characters. */
const LONGEST_REASON = `${"é".repeat(61)}x`

const requestedCloses: ReadonlyArray<{ readonly query: string; readonly code: number; readonly reason: string }> = [
  { query: "close_code=1000", code: 1000, reason: "" },
  { query: "close_code=1012", code: 1012, reason: "" },
  { query: "close_code=3000&close_reason=bye", code: 3000, reason: "bye" },
  { query: `close_code=4999&close_reason=${encodeURIComponent(LONGEST_REASON)}`, code: 4999, reason: LONGEST_REASON },
  { query: "close_reason=only%20a%20reason", code: 1000, reason: "only a reason" },
  { query: "close_after_ms=50", code: 1000, reason: "" }
]

/**
 * Upgrades at `/echo?query`, sends `message` if given and reads its echo, then reads the server's first frame
 * after it, answers it with a close of the same code, and sees what else comes and how TCP ends.
 */
const closeOnRequest = async (query: string, message?: string) => {
  const socket = await upgraded(port, {}, `/echo?${query}`)
  const ended = tcpEnd(socket)
  let echo: string | undefined
  if (message !== undefined) {
    socket.send(Op.Text, message)
    echo = (await socket.nextMessage()).payload.toString()
  }
  // nextFrame fails on a masked frame from the server, so a frame read here was unmasked.
  const frame = await socket.nextFrame()
  socket.send(Op.Close, closePayload(frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined))
  // In a room, TCP stays open after a close on a socket the client never sent a message on (the gap below):
  // there, a second shows that nothing follows the close frame.
  const after = await socket.ending(hibernating && message === undefined ? 1_000 : 5_000)
  socket.destroy()
  return { echo, frame, after, tcp: await ended }
}

const header = (frame: Frame) => ({ fin: frame.fin, rsv: frame.rsv, opcode: frame.opcode })
const FINAL_CLOSE = { fin: true, rsv: 0, opcode: Op.Close }

describe("a close the client asked for (close_code, close_reason, close_after, close_after_ms) on the wire", () => {
  it("the reason of 123 bytes is 123 bytes", () => expect(Buffer.byteLength(LONGEST_REASON)).toBe(123))

  for (const { query, code, reason } of requestedCloses) {
    it(`?${query.slice(0, 60)}: one final, unmasked close frame ${code} with the exact reason, then nothing${hibernating ? "" : "; answered, TCP ends cleanly"}`, async () => {
      const { frame, after, tcp } = await closeOnRequest(query)
      expect(header(frame)).toEqual(FINAL_CLOSE)
      expect([...frame.payload]).toEqual([...closePayload(code, reason)])
      expect({ before: after.before, close: after.close }).toEqual({ before: [], close: undefined })
      if (!hibernating) {
        expect(after.tcpClosed).toBe(true)
        expect(tcp).toEqual({ fin: true, hadError: false })
      }
    })
  }

  it("?close_after=1&close_code=4000&close_reason=done: the echo, then the close frame; answered, TCP ends cleanly", async () => {
    const { echo, frame, after, tcp } = await closeOnRequest("close_after=1&close_code=4000&close_reason=done", "one")
    expect(echo).toBe("echo: one")
    expect(header(frame)).toEqual(FINAL_CLOSE)
    expect([...frame.payload]).toEqual([...closePayload(4000, "done")])
    expect(after).toEqual({ close: undefined, tcpClosed: true, before: [] })
    expect(tcp).toEqual({ fin: true, hadError: false })
  })

  if (hibernating) {
    platformGap(
      "in a Durable Object, a requested close on a socket the client never sent a message on leaves TCP open once answered",
      () => closeOnRequest("close_code=1012"),
      {
        // RFC 6455 §7.1.1: once both close frames are exchanged, the server should close the TCP connection first.
        rfc: ({ after }) => expect(after.tcpClosed).toBe(true),
        observed: ({ frame, after }) => expect([frame.payload.readUInt16BE(0), after.tcpClosed]).toEqual([1012, false])
      }
    )
  }
})

const GREETING_LIMIT = 1_024

/** Invalid queries, each with the parameter its 400 must name, its code, and the value it must quote. */
interface Invalid {
  readonly query: string
  readonly name: string
  readonly code: "INVALID_PARAMETER" | "UNKNOWN_PARAMETER"
  readonly value?: string
}
const invalidQueries: ReadonlyArray<Invalid> = [
  { query: "close_code=1005", name: "close_code", code: "INVALID_PARAMETER", value: "1005" },
  { query: "close_code=5000", name: "close_code", code: "INVALID_PARAMETER", value: "5000" },
  {
    query: `close_reason=${"r".repeat(124)}`,
    name: "close_reason",
    code: "INVALID_PARAMETER",
    value: "r".repeat(124)
  },
  { query: "delay_ms=10001", name: "delay_ms", code: "INVALID_PARAMETER", value: "10001" },
  { query: "delay_ms=-1", name: "delay_ms", code: "INVALID_PARAMETER", value: "-1" },
  { query: "delay_ms=1.5", name: "delay_ms", code: "INVALID_PARAMETER", value: "1.5" },
  { query: "push=tick&push_every_ms=9", name: "push_every_ms", code: "INVALID_PARAMETER", value: "9" },
  { query: "push=tick&push_count=0", name: "push_count", code: "INVALID_PARAMETER", value: "0" },
  { query: "reject=426", name: "reject", code: "INVALID_PARAMETER", value: "426" },
  { query: "reject=600", name: "reject", code: "INVALID_PARAMETER", value: "600" },
  { query: "reject=429&retry_after=86401", name: "retry_after", code: "INVALID_PARAMETER", value: "86401" },
  { query: "stall=yes", name: "stall", code: "INVALID_PARAMETER", value: "yes" },
  { query: "unknown=1", name: "unknown", code: "UNKNOWN_PARAMETER" },
  { query: "delay_ms=1&delay_ms=2", name: "delay_ms", code: "INVALID_PARAMETER", value: "1, 2" },
  { query: "push_count=2", name: "push_count", code: "INVALID_PARAMETER", value: "2" },
  { query: "retry_after=5", name: "retry_after", code: "INVALID_PARAMETER", value: "5" },
  { query: "broadcast=true", name: "broadcast", code: "INVALID_PARAMETER", value: "true" },
  {
    query: `greeting=${"g".repeat(GREETING_LIMIT + 1)}`,
    name: "greeting",
    code: "INVALID_PARAMETER",
    value: "g".repeat(GREETING_LIMIT + 1)
  },
  {
    // 1,025 bytes in 513 characters: the limit is on UTF-8 bytes.
    query: `greeting=${encodeURIComponent(`${"é".repeat(512)}x`)}`,
    name: "greeting",
    code: "INVALID_PARAMETER",
    value: `${"é".repeat(512)}x`
  }
]

/** Asserts the refusal's body for `invalid`: its code, and an error that names the parameter and quotes the value. */
const expectRefusal = (body: { readonly error?: unknown; readonly code?: unknown }, invalid: Invalid, what: string) => {
  expect(Object.keys(body).sort(), what).toEqual(["code", "error"])
  expect(body.code, what).toBe(invalid.code)
  const error = String(body.error)
  if (invalid.code === "UNKNOWN_PARAMETER") {
    expect(error, what).toMatch(new RegExp(`^Unknown parameter "${invalid.name}"; the known ones are room, greeting, `))
  } else {
    expect(error, what).toMatch(new RegExp(`^${invalid.name} must be `))
    const quoted = `, got ${JSON.stringify(invalid.value)}`
    expect(error.slice(-quoted.length), what).toBe(quoted)
  }
}

describe("an invalid behaviour parameter is refused before the handshake", () => {
  for (const invalid of invalidQueries) {
    it(`?${invalid.query.slice(0, 60)}: 400 JSON ${invalid.code} naming ${invalid.name}, on a handshake and on a plain GET`, async () => {
      for (const upgrade of [true, false]) {
        const { socket, head } = await handshake(port, {
          path: `/echo?${invalid.query}`,
          headers: upgrade ? {} : { Upgrade: undefined, Connection: "close", "Sec-WebSocket-Key": undefined }
        })
        const what = upgrade ? "handshake" : "plain GET"
        expect(head.status, what).toBe(400)
        expect(head.headers["sec-websocket-accept"], what).toBeUndefined()
        expect(head.headers["content-type"], what).toBe("application/json")
        const body = JSON.parse(await socket.readBody(head))
        expectRefusal(body, invalid, what)
        socket.destroy()
      }
    })
  }

  it("a plain GET with valid parameters gets the usual 426", async () => {
    const { socket, head } = await handshake(port, {
      path: "/echo?greeting=hi&delay_ms=5&close_after=1&push=x&push_count=2",
      headers: { Upgrade: undefined, Connection: "close", "Sec-WebSocket-Key": undefined }
    })
    expect(head.status).toBe(426)
    expect(JSON.parse(await socket.readBody(head))).toMatchObject({ code: "NOT_WEBSOCKET" })
    socket.destroy()
  })
})

describe("stall=true, on a server of its own with IDLE_TIMEOUT_SECONDS = 2", () => {
  let server: WranglerDev
  beforeAll(async () => {
    server = await startWranglerDev({ mode: inject("mode"), vars: { IDLE_TIMEOUT_SECONDS: "2" } })
  })
  afterAll(() => server?.stop())

  it("sends nothing (no greeting, push or echo), answers no close frame, and is ended by the idle timeout with 1001", async () => {
    const socket = await upgraded(server.port, {}, "/echo?stall=true&greeting=hi&push=tick&push_every_ms=10")
    const upgradedAt = performance.now()
    socket.send(Op.Text, "anyone there?")
    socket.send(Op.Close, closePayload(1000, "bye"))
    const ending = await socket.ending(10_000)
    socket.destroy()
    expect(ending.before).toEqual([])
    expect(ending.close).toEqual({ code: 1001, reason: "idle timeout" })
    // Only the idle timeout ended it: not before 2 s of silence (a timer may fire a little early).
    expect(performance.now() - upgradedAt).toBeGreaterThanOrEqual(1_900)
  })
})
