import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import { RpcClientError } from "@effect/rpc/RpcClientError"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import { assert, describe, it } from "@effect/vitest"
import * as Cause from "effect/Cause"
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as Option from "effect/Option"
import * as Schedule from "effect/Schedule"
import * as Stream from "effect/Stream"
import { EchoRpcs, EmptyText } from "../../src/domain/EchoRpcs.js"
import { allClosed, webSocketConstructor } from "./effectSocket.js"
import { origin, TIMEOUT_MS } from "./wsClient.js"

const serializations = {
  json: { query: "", layer: RpcSerialization.layerJson },
  ndjson: { query: "?serialization=ndjson", layer: RpcSerialization.layerNdjson },
  msgpack: { query: "?serialization=msgpack", layer: RpcSerialization.layerMsgPack }
} as const

type Serialization = keyof typeof serializations
type EchoClient = RpcClient.FromGroup<typeof EchoRpcs, RpcClientError>

/**
 * Runs `use` with @effect/rpc's own client of `EchoRpcs`, over @effect/platform's `Socket.layerWebSocket` to
 * the run's `/rpc`, then closes the client's scope and checks that every socket it opened (reconnects
 * included) is closed. Also says how many it opened.
 */
const withClient = <A, E>(
  serialization: Serialization,
  use: (client: EchoClient) => Effect.Effect<A, E, never>
): Effect.Effect<{ readonly result: A; readonly sockets: number }, E> =>
  Effect.gen(function* () {
    const { query, layer } = serializations[serialization]
    const webSocket = webSocketConstructor()
    const protocol = RpcClient.layerProtocolSocket().pipe(
      Layer.provide(Socket.layerWebSocket(`${origin().replace(/^http/, "ws")}/rpc${query}`)),
      Layer.provide(Layer.merge(layer, webSocket.layer))
    )
    // The protocol layer stays provided for as long as the client is used: both live in this scope.
    const result = yield* Effect.scoped(Effect.flatMap(RpcClient.make(EchoRpcs), use).pipe(Effect.provide(protocol)))
    yield* Effect.promise(() => allClosed(webSocket.opened))
    return { result, sockets: webSocket.opened.length }
  })

/** `effect`, failing with a `TimeoutException` if it has not ended within `TIMEOUT_MS`. */
const bounded = <A, E>(effect: Effect.Effect<A, E>) => Effect.timeout(effect, TIMEOUT_MS)

/** The socket close that an `RpcClientError` reports, if that is what it is. */
const closeOf = (exit: Exit.Exit<unknown, unknown>) =>
  Exit.isFailure(exit)
    ? Option.flatMap(Cause.failureOption(exit.cause), (error) =>
        error instanceof RpcClientError && Socket.SocketCloseError.is(error.cause)
          ? Option.some({ code: error.cause.code, reason: error.cause.closeReason })
          : Option.none()
      )
    : Option.none()

describe.each(Object.keys(serializations) as Array<Serialization>)(
  "@effect/rpc's client at GET /rpc (%s) against wrangler dev",
  (serialization) => {
    it.live("Echo answers with the prefix; an empty text fails with EmptyText, typed, on the client", () =>
      Effect.gen(function* () {
        const { result, sockets } = yield* withClient(serialization, (client) =>
          Effect.all([bounded(client.Echo({ text: "hello → 世界" })), bounded(Effect.flip(client.Echo({ text: "" })))])
        )
        const [echoed, empty] = result
        assert.strictEqual(echoed, "echo: hello → 世界")
        assert.strictEqual(empty._tag, "EmptyText")
        assert.instanceOf(empty, EmptyText)
        assert.strictEqual(sockets, 1)
      })
    )

    it.live("EchoStream delivers all 1,000 items, in order", () =>
      Effect.gen(function* () {
        const { result } = yield* withClient(serialization, (client) =>
          bounded(Stream.runCollect(client.EchoStream({ text: "item", count: 1000 })))
        )
        assert.deepStrictEqual(
          Chunk.toReadonlyArray(result),
          Array.from({ length: 1000 }, (_, i) => `echo: item ${i + 1}`)
        )
      })
    )

    it.live("40 concurrent calls on one socket each get their own answer", () =>
      Effect.gen(function* () {
        const { result, sockets } = yield* withClient(serialization, (client) =>
          bounded(
            Effect.all(
              Array.from({ length: 40 }, (_, i) =>
                i % 4 === 0
                  ? Effect.map(Stream.runCollect(client.EchoStream({ text: `s${i}`, count: 3 })), (items) =>
                      Chunk.toReadonlyArray(items).join("|")
                    )
                  : client.Echo({ text: `c${i}` })
              ),
              { concurrency: "unbounded" }
            )
          )
        )
        assert.deepStrictEqual(
          result,
          Array.from({ length: 40 }, (_, i) =>
            i % 4 === 0 ? `echo: s${i} 1|echo: s${i} 2|echo: s${i} 3` : `echo: c${i}`
          )
        )
        assert.strictEqual(sockets, 1)
      })
    )

    it.live("a stream the client stops after a few items ends there, and the socket keeps answering", () =>
      Effect.gen(function* () {
        const { result, sockets } = yield* withClient(serialization, (client) =>
          Effect.all([
            bounded(Stream.runCollect(Stream.take(client.EchoStream({ text: "cut", count: 1000 }), 3))),
            bounded(client.Echo({ text: "after the cut" })),
            bounded(Stream.runCollect(client.EchoStream({ text: "again", count: 2 })))
          ])
        )
        const [cut, echoed, again] = result
        assert.deepStrictEqual(Chunk.toReadonlyArray(cut), ["echo: cut 1", "echo: cut 2", "echo: cut 3"])
        assert.strictEqual(echoed, "echo: after the cut")
        assert.deepStrictEqual(Chunk.toReadonlyArray(again), ["echo: again 1", "echo: again 2"])
        assert.strictEqual(sockets, 1)
      })
    )

    it.live("a frame over the size limit closes the socket with 1009, and every call in flight fails", () =>
      Effect.gen(function* () {
        const { result, sockets } = yield* withClient(serialization, (client) =>
          Effect.gen(function* () {
            // The oversized call goes out first; the streams follow it on the same socket, so the server,
            // which closes at that frame, never answers them.
            const exits = yield* Effect.all(
              [
                Effect.exit(bounded(client.Echo({ text: "x".repeat(1_048_577) }))),
                ...Array.from({ length: 4 }, (_, i) =>
                  Effect.exit(bounded(Stream.runCollect(client.EchoStream({ text: `in flight ${i}`, count: 1000 }))))
                )
              ],
              { concurrency: "unbounded" }
            )
            // The client reconnects by itself (its retry schedule starts at 500 ms); until then it fails calls
            // with the error it last saw. The next Echo is answered on the new socket.
            const afterwards = yield* bounded(
              client.Echo({ text: "reconnected" }).pipe(
                Effect.retry({
                  while: (error) => error instanceof RpcClientError,
                  schedule: Schedule.spaced("100 millis")
                })
              )
            )
            return { exits, afterwards }
          })
        )
        for (const exit of result.exits) {
          assert.deepStrictEqual(closeOf(exit), Option.some({ code: 1009, reason: "message too big" }))
        }
        assert.strictEqual(result.afterwards, "echo: reconnected")
        assert.strictEqual(sockets, 2)
      })
    )
  }
)
