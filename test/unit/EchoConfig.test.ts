import { assert, describe, it } from "@effect/vitest"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as Layer from "effect/Layer"
import { EchoConfig } from "../../src/services/EchoConfig.js"

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
  it.effect("defaults to the `echo: ` prefix and 1 MiB", () =>
    Effect.gen(function* () {
      assert.deepStrictEqual(yield* load({}), Exit.succeed({ prefix: "echo: ", maxMessageBytes: 1_048_576 }))
    })
  )

  it.effect("reads both variables; an empty prefix means an exact echo", () =>
    Effect.gen(function* () {
      const exit = yield* load({ ECHO_PREFIX: "", MAX_MESSAGE_BYTES: "33554432" })
      assert.deepStrictEqual(exit, Exit.succeed({ prefix: "", maxMessageBytes: 33_554_432 }))
      assert.deepStrictEqual(
        yield* load({ MAX_MESSAGE_BYTES: "1" }),
        Exit.succeed({ prefix: "echo: ", maxMessageBytes: 1 })
      )
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
})
