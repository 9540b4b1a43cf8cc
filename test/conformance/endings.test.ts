import { randomUUID } from "node:crypto"
import { beforeAll, describe, expect, inject, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { type LogLine, logLines } from "../support/logLines.js"
import { runtimeLines, runtimeTrouble } from "../support/runtimeTrouble.js"
import { devServer } from "./devServer.js"
import { closePayload, type Ending, encodeFrame, type Frame, Op, type RawSocket, upgraded } from "./rawSocket.js"
import { targets } from "./targets.js"

// How each connection ends, read on the wire and on its one log line. A server of its own: the closing handshake's
// deadline is min(IDLE_TIMEOUT_SECONDS, 30 s), so 3 s here, and a 16-byte message limit that a short frame exceeds.
const VARS = { IDLE_TIMEOUT_SECONDS: "3", MAX_MESSAGE_BYTES: "16" }

/** How long a case waits for its connection's log line: the 3 s deadline with ample room on a busy machine. */
const LOG_WAIT_MS = 15_000

const server = devServer(VARS)

/**
 * A subprotocol token of its own for one connection. The server agrees to a client's first offer (`PROTOCOLS` is
 * empty) and logs it, so the token finds the connection's log line without changing how the connection is served.
 */
const marker = (what: string) => `${what}-${randomUUID()}`

const offering = (protocol: string) => ({ "Sec-WebSocket-Protocol": protocol })

/** The log lines of the connection that offered `protocol`. */
const linesOf = (protocol: string): Array<LogLine> =>
  logLines(server.output(), "connection ended").filter((line) => line.annotations.protocol === protocol)

/** Waits up to `LOG_WAIT_MS` for the connection's first log line; returns the lines by then and how long it took. */
const awaitLine = async (protocol: string) => {
  const start = performance.now()
  await eventually(() => linesOf(protocol).length > 0, LOG_WAIT_MS)
  return { lines: linesOf(protocol), waitedMs: performance.now() - start }
}

/**
 * A connection opened, closed by the client and logged after everything a case did: once its line is written,
 * the server has handled the events the runtime delivered before it, so a second line for the case's connection
 * (for a drop that follows a close, say) would be in the output.
 */
const barrier = async () => {
  const protocol = marker("barrier")
  const socket = await upgraded(server.port, offering(protocol))
  socket.send(Op.Close, closePayload(1000))
  await socket.ending(2_000)
  socket.destroy()
  expect(await eventually(() => linesOf(protocol).length > 0, LOG_WAIT_MS), "the barrier's log line").toBe(true)
}

/** What the server printed since `mark` (a length of its output). */
const outputSince = (mark: number) => server.output().slice(mark)

/** The runtime refusing a send on a socket that the Worker had already closed. */
const SEND_AFTER_CLOSE = /send\(\) after close\(\)/

describe("a close the server started (close_code=4001&close_reason=bye), never answered by a silent peer", () => {
  let run: {
    readonly frame: Frame
    readonly afterClose: ReadonlyArray<Frame>
    readonly waitedMs: number
    readonly linesAtDeadline: ReadonlyArray<LogLine>
    readonly lines: ReadonlyArray<LogLine>
    readonly trouble: ReadonlyArray<string>
  }
  beforeAll(async () => {
    const mark = server.output().length
    const protocol = marker("silent-peer")
    const socket = await upgraded(server.port, offering(protocol), "/echo?close_code=4001&close_reason=bye")
    const frame = await socket.nextFrame()
    // The peer never answers, and keeps TCP open until the server has logged the connection or the wait is over.
    const { lines: linesAtDeadline, waitedMs } = await awaitLine(protocol)
    const afterClose = socket.framesLeft()
    socket.destroy()
    await barrier()
    run = {
      frame,
      afterClose,
      waitedMs,
      linesAtDeadline,
      lines: linesOf(protocol),
      trouble: runtimeTrouble(outputSince(mark))
    }
  })

  it("the server's close frame is 4001 `bye`", () => {
    expect([run.frame.opcode, ...run.frame.payload]).toEqual([Op.Close, ...closePayload(4001, "bye")])
  })

  it(`ends at the closing handshake's deadline (3 s): its log line is written within ${LOG_WAIT_MS / 1000} s, not before 3 s`, () => {
    expect(run.linesAtDeadline.length, `log lines after ${Math.round(run.waitedMs)} ms`).toBe(1)
    // The wait starts when the client has the close frame: a little after the server's clock started.
    expect(run.waitedMs).toBeGreaterThanOrEqual(2_800)
  })

  it("logs it once, as `handshake-timeout` with closeCode 4001 and peerCloseCode null, also after the peer drops", () => {
    expect(run.lines.length).toBe(1)
    expect(run.lines[0]?.annotations).toMatchObject({
      ending: "handshake-timeout",
      closeCode: 4001,
      peerCloseCode: null
    })
  })

  it("sends nothing after its close frame while it waits, and the runtime reports no trouble", () => {
    expect(run.afterClose).toEqual([])
    expect(run.trouble).toEqual([])
  })
})

describe("a message over MAX_MESSAGE_BYTES (40 bytes against 16) and five small ones, in one TCP write", () => {
  let run: {
    readonly ending: Ending & { readonly before: ReadonlyArray<Frame> }
    readonly afterClose: ReadonlyArray<Frame>
    readonly lines: ReadonlyArray<LogLine>
    readonly sendAfterClose: ReadonlyArray<string>
    readonly trouble: ReadonlyArray<string>
  }
  beforeAll(async () => {
    const mark = server.output().length
    const protocol = marker("over-limit")
    const socket = await upgraded(server.port, offering(protocol))
    socket.write(
      Buffer.concat([
        encodeFrame(Op.Text, "x".repeat(40)),
        ...Array.from({ length: 5 }, (_, i) => encodeFrame(Op.Text, `m${i}`))
      ])
    )
    const ending = await socket.ending()
    const afterClose = socket.framesLeft()
    socket.destroy()
    await awaitLine(protocol)
    await barrier()
    const output = outputSince(mark)
    run = {
      ending,
      afterClose,
      lines: linesOf(protocol),
      sendAfterClose: runtimeLines(output).filter((line) => SEND_AFTER_CLOSE.test(line)),
      trouble: runtimeTrouble(output)
    }
  })

  it("the client gets one close frame, 1009, and no echo before or after it", () => {
    expect(run.ending.before).toEqual([])
    expect(run.ending.close).toEqual({ code: 1009, reason: "message too big" })
    expect(run.afterClose).toEqual([])
  })

  it("the server logs the connection once", () => {
    expect(run.lines.length).toBe(1)
  })

  it("the log line says `too-big` with closeCode 1009", () => {
    expect(run.lines[0]?.annotations).toMatchObject({ ending: "too-big", closeCode: 1009 })
  })

  it("the runtime reports no send() after close(), nor any other trouble", () => {
    expect(run.sendAfterClose).toEqual([])
    expect(run.trouble).toEqual([])
  })
})

for (const [how, drop] of [
  ["ends TCP (FIN)", (socket: RawSocket) => socket.destroy()],
  ["resets TCP (RST)", (socket: RawSocket) => socket.reset()]
] as const) {
  describe(`a peer that exchanges one echo, then ${how} without a close frame`, () => {
    let run: { readonly lines: ReadonlyArray<LogLine>; readonly trouble: ReadonlyArray<string> }
    beforeAll(async () => {
      const mark = server.output().length
      const protocol = marker("dropped-peer")
      const socket = await upgraded(server.port, offering(protocol))
      socket.send(Op.Text, "hi")
      expect((await socket.nextMessage()).payload.toString()).toBe("echo: hi")
      drop(socket)
      await awaitLine(protocol)
      await barrier()
      run = { lines: linesOf(protocol), trouble: runtimeTrouble(outputSince(mark)) }
    })

    it("the server logs the connection once", () => {
      expect(run.lines.length).toBe(1)
    })

    it("as a transport ending, not a protocol error: peerCloseCode 1006, closeCode null, `transport`", () => {
      expect(run.lines[0]?.annotations).toMatchObject({ ending: "transport", peerCloseCode: 1006, closeCode: null })
    })

    it("the runtime reports no trouble", () => {
      expect(run.trouble).toEqual([])
    })
  })
}

/** 124 bytes of UTF-8 in 63 characters: one byte over what a close frame holds, counted in bytes. */
const REASON_124 = `${"é".repeat(61)}xy`

for (const target of targets(inject("mode"))) {
  describe(`a close frame with code 1000 and a reason of 124 bytes (a 126-byte payload) at ${target.path}`, () => {
    let run: {
      readonly ending: Ending & { readonly before: ReadonlyArray<Frame> }
      readonly lines: ReadonlyArray<LogLine>
      readonly trouble: ReadonlyArray<string>
    }
    beforeAll(async () => {
      const mark = server.output().length
      const protocol = marker("long-reason")
      const socket = await upgraded(server.port, offering(protocol), target.path)
      socket.send(Op.Close, closePayload(1000, REASON_124))
      const ending = await socket.ending()
      socket.destroy()
      await awaitLine(protocol)
      await barrier()
      run = { ending, lines: linesOf(protocol), trouble: runtimeTrouble(outputSince(mark)) }
    })

    it("the frame is what the case says: 126 bytes of payload, in the 16-bit extended length form", () => {
      expect(Buffer.byteLength(REASON_124)).toBe(124)
      const frame = encodeFrame(Op.Close, closePayload(1000, REASON_124))
      expect([(frame[1] as number) & 0x7f, frame.readUInt16BE(2)]).toEqual([126, 126])
    })

    it("is answered with a close frame 1002 (nothing before it), and the server ends TCP", () => {
      expect(run.ending.before).toEqual([])
      expect(run.ending.close?.code).toBe(1002)
      expect(Buffer.byteLength(run.ending.close?.reason ?? "")).toBeLessThanOrEqual(123)
      expect(run.ending.tcpClosed).toBe(true)
    })

    it("logs it once, as `protocol-error` with closeCode 1002 and the peer's 1000", () => {
      expect(run.lines.length).toBe(1)
      expect(run.lines[0]?.annotations).toMatchObject({
        ending: "protocol-error",
        closeCode: 1002,
        peerCloseCode: 1000
      })
    })

    it("the runtime reports no trouble (no close() refused for its reason)", () => {
      expect(run.trouble).toEqual([])
    })
  })
}
