import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import { defaults, EchoConfig } from "../../src/services/EchoConfig.js"

const load = (vars: Record<string, string>) =>
  Effect.exit(
    EchoConfig.pipe(
      Effect.provide(EchoConfig.layer.pipe(Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson(vars)))))
    )
  )

const failure = (exit: Exit.Exit<unknown, unknown>) => {
  assert.isTrue(Exit.isFailure(exit))
  return String(Exit.isFailure(exit) ? exit.cause : "")
}

describe("EchoConfig", () => {
  it.effect(
    "defaults to the `echo: ` prefix, 1 MiB, any origin, a 600 s idle timeout no rate limit, and no behaviours (the deployed Worker turns them on)",
    () =>
      Effect.gen(function* () {
        assert.deepStrictEqual(
          yield* load({}),
          Exit.succeed({
            prefix: "echo: ",
            maxMessageBytes: 1_048_576,
            allowedOrigins: [],
            requireOrigin: false,
            idleTimeoutSeconds: 600,
            maxMessagesPerSecond: 0,
            protocols: [],
            pipeline: "stream",
            backend: "worker",
            logLevel: LogLevel.Info,
            testBehaviours: false,
            maxRoomSockets: 100
          })
        )
      })
  )

  it.effect("reads both variables; an empty prefix means an exact echo", () =>
    Effect.gen(function* () {
      const exit = yield* load({ ECHO_PREFIX: "", MAX_MESSAGE_BYTES: "33554432" })
      assert.deepStrictEqual(exit, Exit.succeed({ ...defaults, prefix: "", maxMessageBytes: 33_554_432 }))
      assert.deepStrictEqual(yield* load({ MAX_MESSAGE_BYTES: "1" }), Exit.succeed({ ...defaults, maxMessageBytes: 1 }))
    })
  )

  it.effect("takes a prefix and subprotocols of up to 256 bytes, and refuses longer ones, naming the limit", () =>
    Effect.gen(function* () {
      // Each socket of a room keeps the prefix and its subprotocol in its attachment.
      const longest = `€${"e".repeat(253)}`
      assert.deepStrictEqual(yield* load({ ECHO_PREFIX: longest }), Exit.succeed({ ...defaults, prefix: longest }))
      const prefix = failure(yield* load({ ECHO_PREFIX: `€${"e".repeat(254)}` }))
      assert.include(prefix, "ECHO_PREFIX must be at most 256 UTF-8 bytes, got 257")
      const protocol = "p".repeat(256)
      assert.deepStrictEqual(
        yield* load({ PROTOCOLS: `chat, ${protocol}` }),
        Exit.succeed({ ...defaults, protocols: ["chat", protocol] })
      )
      const protocols = failure(yield* load({ PROTOCOLS: `chat, ${protocol}p` }))
      assert.include(protocols, "PROTOCOLS must list subprotocols of at most 256 bytes, got one of 257 bytes")
    })
  )

  it.effect("refuses a limit outside 1..33554432, naming the variable and the range", () =>
    Effect.gen(function* () {
      for (const bad of ["0", "33554433", "-5", "1.5", "abc", "", "1e3", "0x10"]) {
        const message = failure(yield* load({ MAX_MESSAGE_BYTES: bad }))
        assert.include(message, "MAX_MESSAGE_BYTES must be an integer from 1 to 33554432", bad)
        assert.include(message, JSON.stringify(bad))
      }
    })
  )

  it.effect("reads the abuse limits", () =>
    Effect.gen(function* () {
      const exit = yield* load({
        ALLOWED_ORIGINS: "https://Example.com:443, http://localhost:8080,chrome-extension://AbC",
        REQUIRE_ORIGIN: "TRUE",
        IDLE_TIMEOUT_SECONDS: "0",
        MAX_MESSAGES_PER_SECOND: "50"
      })
      assert.deepStrictEqual(
        exit,
        Exit.succeed({
          ...defaults,
          allowedOrigins: ["https://example.com", "http://localhost:8080", "chrome-extension://abc"],
          requireOrigin: true,
          idleTimeoutSeconds: 0,
          maxMessagesPerSecond: 50
        })
      )
    })
  )

  it.effect("reads an empty ALLOWED_ORIGINS, or *, as any origin", () =>
    Effect.gen(function* () {
      for (const any of ["", " ", "*"]) {
        assert.deepStrictEqual(yield* load({ ALLOWED_ORIGINS: any }), Exit.succeed(defaults), any)
      }
    })
  )

  it.effect("refuses bad abuse limits, naming the variable, the expected form and the value", () =>
    Effect.gen(function* () {
      const cases: Array<[Record<string, string>, string, string]> = [
        [
          { ALLOWED_ORIGINS: "https://a.com,example.com" },
          "ALLOWED_ORIGINS must be a comma-separated list",
          "example.com"
        ],
        [{ ALLOWED_ORIGINS: "https://a.com/" }, "ALLOWED_ORIGINS must be a comma-separated list", "https://a.com/"],
        [{ ALLOWED_ORIGINS: "https://a.com,,https://b.com" }, "ALLOWED_ORIGINS must be", ""],
        [{ ALLOWED_ORIGINS: "null" }, "ALLOWED_ORIGINS must be", "null"],
        [{ REQUIRE_ORIGIN: "yes" }, "REQUIRE_ORIGIN must be true or false", "yes"],
        [{ IDLE_TIMEOUT_SECONDS: "-1" }, "IDLE_TIMEOUT_SECONDS must be an integer from 0 to 86400", "-1"],
        [{ IDLE_TIMEOUT_SECONDS: "86401" }, "IDLE_TIMEOUT_SECONDS must be an integer from 0 to 86400", "86401"],
        [{ MAX_MESSAGES_PER_SECOND: "1.5" }, "MAX_MESSAGES_PER_SECOND must be an integer from 0 to 1000000", "1.5"],
        [{ MAX_MESSAGES_PER_SECOND: "lots" }, "MAX_MESSAGES_PER_SECOND must be an integer from 0 to 1000000", "lots"]
      ]
      for (const [vars, expected, value] of cases) {
        const message = failure(yield* load(vars))
        assert.include(message, expected, JSON.stringify(vars))
        assert.include(message, `got ${JSON.stringify(value)}`, JSON.stringify(vars))
      }
    })
  )

  it.effect("reads the subprotocols, the pipeline, the backend and the log level", () =>
    Effect.gen(function* () {
      const exit = yield* load({
        PROTOCOLS: " graphql-transport-ws,chat , mqtt",
        ECHO_PIPELINE: "handler",
        ECHO_BACKEND: "Durable-Object",
        LOG_LEVEL: "warning"
      })
      assert.deepStrictEqual(
        exit,
        Exit.succeed({
          ...defaults,
          protocols: ["graphql-transport-ws", "chat", "mqtt"],
          pipeline: "handler",
          backend: "durable-object",
          logLevel: LogLevel.Warning
        })
      )
    })
  )

  it.effect("refuses a bad subprotocol list, pipeline, backend or log level, naming the choices", () =>
    Effect.gen(function* () {
      const cases: Array<[Record<string, string>, string]> = [
        [{ PROTOCOLS: "chat, chat" }, "PROTOCOLS must be a comma-separated list of unique subprotocol tokens"],
        [{ PROTOCOLS: "a b" }, "PROTOCOLS must be a comma-separated list of unique subprotocol tokens"],
        [{ PROTOCOLS: "chat;v=1" }, "PROTOCOLS must be a comma-separated list of unique subprotocol tokens"],
        [{ ECHO_PIPELINE: "streams" }, "ECHO_PIPELINE must be one of stream, handler"],
        [{ ECHO_BACKEND: "do" }, "ECHO_BACKEND must be one of worker, durable-object"],
        [{ LOG_LEVEL: "loud" }, "LOG_LEVEL must be one of debug, info, warning, error, none"]
      ]
      for (const [vars, expected] of cases) {
        const message = failure(yield* load(vars))
        assert.include(message, expected, JSON.stringify(vars))
        assert.include(message, `got ${JSON.stringify(Object.values(vars)[0])}`, JSON.stringify(vars))
      }
    })
  )
})
