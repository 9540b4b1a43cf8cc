import { describe, expect, inject, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { logLines } from "../support/logLines.js"
import { runtimeTrouble } from "../support/runtimeTrouble.js"
import { devServer } from "./devServer.js"
import { platformGap } from "./platformGap.js"
import { closePayload, handshake, Op, type RawSocket, upgraded } from "./rawSocket.js"

// A server of its own, with every abuse limit on and short, so its log can be read afterwards.
const VARS = {
  ALLOWED_ORIGINS: "https://allowed.example,http://localhost:5173",
  IDLE_TIMEOUT_SECONDS: "2",
  MAX_MESSAGES_PER_SECOND: "20"
}

const server = devServer(VARS)

/** Sockets live in hibernating Durable Objects (ECHO_BACKEND = durable-object). */
const hibernating = inject("mode") === "durable-object"

const paced = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const closeCleanly = async (socket: RawSocket) => {
  socket.send(Op.Close, closePayload(1000))
  expect((await socket.ending()).close).toEqual({ code: 1000, reason: "" })
  socket.destroy()
}

describe("ALLOWED_ORIGINS (RFC 6455 §10.2)", () => {
  it("upgrades a listed origin, compared case-insensitively with its default port", async () => {
    for (const origin of ["https://allowed.example", "HTTPS://Allowed.Example:443", "http://localhost:5173"]) {
      const socket = await upgraded(server.port, { Origin: origin })
      socket.send(Op.Text, origin)
      expect((await socket.nextMessage()).payload.toString()).toBe(`echo: ${origin}`)
      await closeCleanly(socket)
    }
  })

  it("answers an unlisted origin with 403 and the JSON error, before any upgrade", async () => {
    for (const origin of ["https://evil.example", "http://allowed.example", "http://localhost:5174", "null"]) {
      const { socket, head } = await handshake(server.port, { headers: { Origin: origin } })
      expect(head.status, origin).toBe(403)
      expect(head.headers["content-type"]).toBe("application/json")
      expect(head.headers["sec-websocket-accept"]).toBeUndefined()
      expect(JSON.parse(await socket.readBody(head))).toEqual({
        error: `Origin ${JSON.stringify(origin)} is not allowed`,
        code: "ORIGIN_NOT_ALLOWED"
      })
      socket.destroy()
    }
  })

  it("upgrades a request without Origin (CLI tools), since REQUIRE_ORIGIN is off", async () => {
    const socket = await upgraded(server.port)
    socket.send(Op.Text, "cli")
    expect((await socket.nextMessage()).payload.toString()).toBe("echo: cli")
    await closeCleanly(socket)
  })
})

describe("MAX_MESSAGES_PER_SECOND = 20", () => {
  it("echoes a burst of 20 and closes with 1008 `rate limit` at the 21st", async () => {
    const socket = await upgraded(server.port)
    for (let i = 0; i < 30; i++) socket.send(Op.Text, `m${i}`)
    const ending = await socket.ending()
    expect(ending.before.map((frame) => frame.payload.toString())).toEqual(
      Array.from({ length: 20 }, (_, i) => `echo: m${i}`)
    )
    expect(ending.close).toEqual({ code: 1008, reason: "rate limit" })
    expect(ending.tcpClosed).toBe(true)
    socket.destroy()
  })

  it("never closes a client that stays under the rate", async () => {
    const socket = await upgraded(server.port)
    for (let i = 0; i < 25; i++) {
      socket.send(Op.Text, `steady ${i}`)
      expect((await socket.nextMessage()).payload.toString()).toBe(`echo: steady ${i}`)
      await paced(100)
    }
    socket.send(Op.Close, closePayload(1000))
    expect((await socket.ending()).close).toEqual({ code: 1000, reason: "" })
    socket.destroy()
  })
})

describe("IDLE_TIMEOUT_SECONDS = 2, for real, on 60 sockets at once", () => {
  it("closes silent sockets with 1001 `idle timeout`, keeps talking ones open, and logs no cross-request I/O", async () => {
    const silent = await Promise.all(Array.from({ length: 50 }, () => upgraded(server.port)))
    const talking = await Promise.all(Array.from({ length: 10 }, () => upgraded(server.port)))
    const talk = async (socket: RawSocket, i: number) => {
      // A message every 500 ms for 3 s: longer than the timeout, never silent for that long.
      for (let round = 0; round < 6; round++) {
        socket.send(Op.Text, `${i}.${round}`)
        expect((await socket.nextMessage()).payload.toString()).toBe(`echo: ${i}.${round}`)
        await paced(500)
      }
      return socket.ending()
    }
    const [silentEndings, talkingEndings] = await Promise.all([
      Promise.all(silent.map((socket) => socket.ending(hibernating ? 4_000 : undefined))),
      Promise.all(talking.map(talk))
    ])
    for (const ending of [...silentEndings, ...talkingEndings]) {
      expect(ending.close).toEqual({ code: 1001, reason: "idle timeout" })
    }
    // A room leaves TCP open after closing a socket that never carried a message (the platform gap below).
    for (const ending of hibernating ? talkingEndings : [...silentEndings, ...talkingEndings]) {
      expect(ending.tcpClosed).toBe(true)
    }
    for (const socket of [...silent, ...talking]) socket.destroy()

    // The server writes each line as its socket ends, a little after the client saw the close.
    const idleEndings = () =>
      logLines(server.output(), "connection ended").filter((line) => line.annotations.closeCode === 1001).length
    expect(await eventually(() => idleEndings() >= 60, 10_000), `${idleEndings()} idle endings logged`).toBe(true)
    expect(runtimeTrouble(server.output())).toEqual([])
  })
})

if (hibernating) {
  platformGap(
    "in a Durable Object, a server's close of a socket that never carried a message leaves TCP open",
    async () => {
      const socket = await upgraded(server.port)
      const ending = await socket.ending(4_000)
      socket.destroy()
      return ending
    },
    {
      rfc: (ending) => expect(ending.tcpClosed).toBe(true),
      observed: (ending) => expect([ending.close?.code, ending.tcpClosed]).toEqual([1001, false])
    }
  )
}
