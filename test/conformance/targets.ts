import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import { expect } from "vitest"
import type { Mode } from "../support/modes.js"
import { Op, type RawSocket } from "./rawSocket.js"

/** A route that upgrades to WebSocket, as the conformance cases see it. */
export interface Target {
  /** The request target of its handshake. */
  readonly path: string
  /** Sends one message on an upgraded socket and asserts the route's answer: the socket is served. */
  readonly exchange: (socket: RawSocket) => Promise<void>
  /** Its sockets live in hibernating Durable Objects, where the runtime leaves some TCP connections open. */
  readonly hibernating: boolean
}

/**
 * @effect/rpc's own codec for one socket (a parser keeps state: msgpack's record structures, ndjson's partial
 * lines): the frame its client sends for `Echo({ text })`, and the messages in a frame from the server.
 */
export const rpcCodec = (serialization: RpcSerialization.RpcSerialization["Type"]) => {
  const parser = serialization.unsafeMake()
  const binary = serialization.contentType === "application/msgpack"
  return {
    opcode: binary ? Op.Binary : Op.Text,
    request: (id: string, text: string): Buffer => {
      const encoded = parser.encode({ _tag: "Request", id, tag: "Echo", payload: { text }, headers: [] })
      return typeof encoded === "string" ? Buffer.from(encoded) : Buffer.from(encoded as Uint8Array)
    },
    decode: (frame: { readonly payload: Buffer }): ReadonlyArray<unknown> =>
      parser.decode(binary ? new Uint8Array(frame.payload) : frame.payload.toString())
  }
}

/** What `/rpc` answers to `Echo({ text })` with request id `id`. */
export const echoExit = (id: string, text: string) => ({
  _tag: "Exit",
  requestId: id,
  exit: { _tag: "Success", value: `echo: ${text}` }
})

/** `/echo` and `/rpc` (JSON) in a mode: every case that is about the WebSocket, not the echo, runs on both. */
export const targets = (mode: Mode): ReadonlyArray<Target> => [
  {
    path: "/echo",
    exchange: async (socket) => {
      socket.send(Op.Text, "ping?")
      const message = await socket.nextMessage()
      expect([message.opcode, message.payload.toString()]).toEqual([Op.Text, "echo: ping?"])
    },
    hibernating: mode === "durable-object"
  },
  {
    path: "/rpc",
    exchange: async (socket) => {
      const codec = rpcCodec(RpcSerialization.json)
      socket.send(codec.opcode, codec.request("1", "ping?"))
      expect(codec.decode(await socket.nextMessage())).toEqual([echoExit("1", "ping?")])
    },
    // The RPC server runs in the Worker in every mode.
    hibernating: false
  }
]
