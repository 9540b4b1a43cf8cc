import { createHash } from "node:crypto"
import { describe, expect, inject, it } from "vitest"
import { platformGap } from "./platformGap.js"
import { handshake, newKey, type RawSocket, type ResponseHead } from "./rawSocket.js"
import { type Target, targets } from "./targets.js"

const port = inject("port")
const [echo] = targets(inject("mode")) as [Target, Target]

/** RFC 6455 §4.2.2: base64(SHA-1(key + GUID)). */
const acceptFor = (key: string) =>
  createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64")

/** Asserts a complete 101 for `key`, then that the target serves the socket. */
const expectServedUpgrade = async (target: Target, socket: RawSocket, head: ResponseHead, key: string) => {
  expect(head.status).toBe(101)
  expect(head.headers.upgrade?.toLowerCase()).toBe("websocket")
  expect(head.headers.connection?.toLowerCase()).toBe("upgrade")
  expect(head.headers["sec-websocket-accept"]).toBe(acceptFor(key))
  await target.exchange(socket)
  socket.destroy()
}

for (const target of targets(inject("mode"))) {
  describe(`opening handshake at ${target.path} (RFC 6455 §4.1, §4.2)`, () => {
    const { path } = target

    it("§4.2.1: Upgrade and Connection tokens are case-insensitive → 101 with the right Sec-WebSocket-Accept", async () => {
      for (const [upgrade, connection] of [
        ["WebSocket", "upgrade"],
        ["WEBSOCKET", "UPGRADE"]
      ] as const) {
        const key = newKey()
        const { socket, head } = await handshake(port, {
          path,
          headers: { Upgrade: upgrade, Connection: connection, "Sec-WebSocket-Key": key }
        })
        await expectServedUpgrade(target, socket, head, key)
      }
    })

    it("§4.2.1: Connection may list other tokens (`keep-alive, Upgrade`) → 101", async () => {
      const key = newKey()
      const { socket, head } = await handshake(port, {
        path,
        headers: { Connection: "keep-alive, Upgrade", "Sec-WebSocket-Key": key }
      })
      await expectServedUpgrade(target, socket, head, key)
    })

    it("§4.2.1: a missing Sec-WebSocket-Key is refused with 400, no upgrade", async () => {
      const { socket, head } = await handshake(port, { path, headers: { "Sec-WebSocket-Key": undefined } })
      expect(head.status).toBe(400)
      expect(head.headers["sec-websocket-accept"]).toBeUndefined()
      socket.destroy()
    })

    it("§4.2.2: no extension is negotiated when the client offers none", async () => {
      const { socket, head } = await handshake(port, { path })
      expect(head.status).toBe(101)
      expect(head.headers["sec-websocket-extensions"]).toBeUndefined()
      socket.destroy()
    })

    it("a GET without any handshake header gets our 426 JSON, not a 101", async () => {
      const { socket, head } = await handshake(port, {
        path,
        headers: { Upgrade: undefined, Connection: "close", "Sec-WebSocket-Key": undefined }
      })
      expect(head.status).toBe(426)
      expect(head.headers["content-type"]).toBe("application/json")
      expect(JSON.parse(await socket.readBody(head))).toEqual({
        error: "Expected WebSocket upgrade request (Upgrade: websocket)",
        code: "NOT_WEBSOCKET"
      })
      socket.destroy()
    })
  })
}

// The runtime's and the dev proxy's own handshake rules: the same for every route, so asserted at /echo.
describe("opening handshake: known gaps of the runtime and the dev proxy", () => {
  platformGap(
    "a Sec-WebSocket-Key that is not 16 bytes of base64 is accepted",
    async () => {
      const key = "abc"
      const { socket, head } = await handshake(port, { headers: { "Sec-WebSocket-Key": key } })
      socket.destroy()
      return { head, key }
    },
    {
      // §4.2.1 item 5: the key is a base64-encoded 16-byte value; anything else is not a valid handshake (400).
      rfc: ({ head }) => expect(head.status).toBe(400),
      observed: ({ head, key }) => {
        expect(head.status).toBe(101)
        expect(head.headers["sec-websocket-accept"]).toBe(acceptFor(key))
      }
    }
  )

  platformGap(
    "Sec-WebSocket-Version other than 13 is refused without naming the supported version",
    async () => {
      const { socket, head } = await handshake(port, { headers: { "Sec-WebSocket-Version": "8" } })
      socket.destroy()
      return head
    },
    {
      // §4.2.2 item 4 / §4.4: refuse (e.g. 426) AND send Sec-WebSocket-Version: 13.
      rfc: (head) => {
        expect(head.status).not.toBe(101)
        expect(head.headers["sec-websocket-version"]).toBe("13")
      },
      observed: (head) => {
        expect(head.status).toBe(400)
        expect(head.headers["sec-websocket-version"]).toBeUndefined()
      }
    }
  )

  platformGap(
    "an HTTP/1.0 handshake is upgraded",
    async () => {
      const { socket, head } = await handshake(port, { version: "HTTP/1.0" })
      socket.destroy()
      return head
    },
    {
      // §4.1: the request MUST be HTTP/1.1 or higher; §4.2.1: otherwise the server answers with an HTTP error.
      rfc: (head) => expect(head.status).not.toBe(101),
      observed: (head) => expect(head.status).toBe(101)
    }
  )

  platformGap(
    "a non-GET handshake is answered 500 by the wrangler dev proxy before the Worker sees it",
    async () => {
      const { socket, head } = await handshake(port, { method: "POST" })
      const body = await socket.readBody(head)
      socket.destroy()
      return { head, body }
    },
    {
      // §4.1: the method MUST be GET; our Worker answers 405 (asserted in test/worker), never 5xx.
      rfc: ({ head }) => expect(head.status).toBe(405),
      observed: ({ head }) => expect(head.status).toBe(500)
    }
  )

  platformGap(
    "permessage-deflate is negotiated by the wrangler dev proxy although the Worker declines it",
    async () => {
      const { socket, head } = await handshake(port, {
        headers: { "Sec-WebSocket-Extensions": "permessage-deflate; client_max_window_bits" }
      })
      socket.destroy()
      return head
    },
    {
      // Our decision (docs/robustness.md): the Worker runs with no_web_socket_compression (raw workerd then answers
      // without the header: test/worker/limits.test.ts); the dev proxy in front of it negotiates on its own.
      rfc: (head) => expect(head.headers["sec-websocket-extensions"]).toBeUndefined(),
      observed: (head) => expect(head.headers["sec-websocket-extensions"]).toMatch(/^permessage-deflate\b/)
    }
  )
})

describe("Sec-WebSocket-Protocol (RFC 6455 §4.1, §4.2.2, §11.3.4), with PROTOCOLS empty", () => {
  const offer = async (lines: string | ReadonlyArray<string>) => {
    const key = newKey()
    const { socket, head } = await handshake(port, {
      headers: { "Sec-WebSocket-Key": key, "Sec-WebSocket-Protocol": lines }
    })
    return { socket, head, key }
  }

  it("§4.2.2: answers with exactly the client's first token, and the socket echoes", async () => {
    const { socket, head, key } = await offer("graphql-transport-ws, graphql-ws")
    expect(head.headers["sec-websocket-protocol"]).toBe("graphql-transport-ws")
    await expectServedUpgrade(echo, socket, head, key)
  })

  it("reads the offers across several header lines, with odd spacing and empty elements", async () => {
    for (const lines of [["mqtt", "chat"], ["  mqtt\t,chat  "], [", ,mqtt", "chat,"]]) {
      const { socket, head, key } = await offer(lines)
      expect(head.headers["sec-websocket-protocol"], JSON.stringify(lines)).toBe("mqtt")
      await expectServedUpgrade(echo, socket, head, key)
    }
  })

  it("refuses an empty list, a token with a separator in it, or a duplicate with 400 JSON and no upgrade", async () => {
    for (const header of [",", "chat v2", "chat/1", "a@b", "mqtt, mqtt"]) {
      const { socket, head } = await offer(header)
      expect(head.status, header).toBe(400)
      expect(head.headers["sec-websocket-accept"]).toBeUndefined()
      expect(JSON.parse(await socket.readBody(head))).toMatchObject({ code: "INVALID_SUBPROTOCOL" })
      socket.destroy()
    }
  })
})
