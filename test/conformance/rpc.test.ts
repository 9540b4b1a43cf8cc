import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import { describe, expect, inject, it } from "vitest"
import { handshake, type handshakeRequest } from "./rawSocket.js"
import { echoExit, rpcCodec } from "./targets.js"

const port = inject("port")

/** Sends a request, reads the whole response and ends the connection. */
const exchange = async (options: Parameters<typeof handshakeRequest>[1]) => {
  const { socket, head } = await handshake(port, options)
  const body = head.status === 101 ? "" : await socket.readBody(head)
  socket.destroy()
  return { head, body }
}

describe("GET /rpc?serialization= (@effect/rpc's WebSocket protocol has no negotiation: the URL picks)", () => {
  for (const [query, serialization] of [
    ["", RpcSerialization.json],
    ["?serialization=json", RpcSerialization.json],
    ["?serialization=ndjson", RpcSerialization.ndjson],
    ["?serialization=msgpack", RpcSerialization.msgPack]
  ] as const) {
    it(`/rpc${query} upgrades and answers in ${serialization.contentType}, frame for frame`, async () => {
      const { socket, head } = await handshake(port, { path: `/rpc${query}` })
      expect(head.status).toBe(101)
      const codec = rpcCodec(serialization)
      for (const id of ["1", "2"]) {
        socket.send(codec.opcode, codec.request(id, `call ${id}`))
        const frame = await socket.nextMessage()
        expect(frame.opcode).toBe(codec.opcode)
        expect(codec.decode(frame)).toEqual([echoExit(id, `call ${id}`)])
      }
      socket.destroy()
    })
  }

  it("refuses any other value with 400 INVALID_PARAMETER JSON before the upgrade: no Sec-WebSocket-Accept", async () => {
    for (const [raw, value] of [
      ["xml", "xml"],
      ["", ""],
      ["JSON", "JSON"],
      ["msgpack%00", "msgpack\u0000"],
      ["%C3%A9", "é"]
    ] as const) {
      const { head, body } = await exchange({ path: `/rpc?serialization=${raw}` })
      expect(head.status, raw).toBe(400)
      expect(head.headers["content-type"]).toBe("application/json")
      expect(head.headers["sec-websocket-accept"]).toBeUndefined()
      expect(JSON.parse(body)).toEqual({
        error: `serialization must be one of json, ndjson, msgpack, got ${JSON.stringify(value)}`,
        code: "INVALID_PARAMETER"
      })
    }
  })

  it("answers odd requests with a 101 or one of our JSON errors, never a 5xx", async () => {
    const plain = { Upgrade: undefined, Connection: "close", "Sec-WebSocket-Key": undefined }
    // Non-GET handshakes are left out: the dev proxy answers those itself with 500 before the Worker sees them
    // (the platform gap in handshake.test.ts). `code` is our JSON error's; the runtime's own 400 has none.
    const cases: ReadonlyArray<{
      readonly request: NonNullable<Parameters<typeof handshakeRequest>[1]>
      readonly status: number
      readonly code?: string
    }> = [
      { request: { path: "/rpc", headers: plain }, status: 426, code: "NOT_WEBSOCKET" },
      { request: { path: "/rpc/", headers: plain }, status: 426, code: "NOT_WEBSOCKET" },
      { request: { path: "/rpc?serialization=xml", headers: plain }, status: 400, code: "INVALID_PARAMETER" },
      { request: { path: "/rpc", method: "POST", headers: plain }, status: 405, code: "METHOD_NOT_ALLOWED" },
      { request: { path: "/rpc", method: "DELETE", headers: plain }, status: 405, code: "METHOD_NOT_ALLOWED" },
      { request: { path: "/rpc", method: "OPTIONS", headers: plain }, status: 405, code: "METHOD_NOT_ALLOWED" },
      { request: { path: "/rpc", headers: { Upgrade: "h2c" } }, status: 426, code: "NOT_WEBSOCKET" },
      { request: { path: "/rpc", headers: { "Sec-WebSocket-Version": "8" } }, status: 400 },
      {
        request: { path: "/rpc", headers: { "Sec-WebSocket-Protocol": "chat v2" } },
        status: 400,
        code: "INVALID_SUBPROTOCOL"
      },
      { request: { path: "/rpc", headers: { Origin: "null" } }, status: 101 },
      // The first value of a repeated parameter counts.
      { request: { path: "/rpc?serialization=ndjson&serialization=xml" }, status: 101 },
      { request: { path: "/rpc?serialization" }, status: 101 },
      { request: { path: "/rpc", version: "HTTP/1.0" }, status: 101 }
    ]
    const name = ({ request }: (typeof cases)[number]) => `${request.method ?? "GET"} ${request.path}`
    const seen = []
    for (const expected of cases) {
      const { head, body } = await exchange(expected.request)
      const code = expected.code === undefined ? {} : { code: JSON.parse(body).code }
      seen.push({ request: name(expected), status: head.status, ...code })
    }
    expect(seen).toEqual(cases.map((expected) => ({ ...expected, request: name(expected) })))
  })
})
