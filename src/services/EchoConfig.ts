import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"

/** The platform's own cap on a WebSocket message: 32 MiB. */
export const PLATFORM_MAX_MESSAGE_BYTES = 33_554_432

/** The echo's settings, read once when the layer is built. */
export interface EchoSettings {
  /** Put in front of every echoed message; empty for an exact echo. */
  readonly prefix: string
  /** The largest message echoed; a larger one closes the socket with 1009. */
  readonly maxMessageBytes: number
}

/** The settings when nothing is configured. */
export const defaults: EchoSettings = { prefix: "echo: ", maxMessageBytes: 1_048_576 }

const maxMessageBytes = Config.string("MAX_MESSAGE_BYTES").pipe(
  Config.withDefault(String(defaults.maxMessageBytes)),
  Config.mapOrFail((text) => {
    const value = Number(text)
    return /^\d+$/.test(text.trim()) && value >= 1 && value <= PLATFORM_MAX_MESSAGE_BYTES
      ? Either.right(value)
      : Either.left(
          ConfigError.InvalidData(
            ["MAX_MESSAGE_BYTES"],
            `MAX_MESSAGE_BYTES must be an integer from 1 to ${PLATFORM_MAX_MESSAGE_BYTES}, got ${JSON.stringify(text)}`
          )
        )
  })
)

/** The settings as an Effect `Config`: `ECHO_PREFIX` and `MAX_MESSAGE_BYTES`. */
export const config: Config.Config<EchoSettings> = Config.all({
  prefix: Config.string("ECHO_PREFIX").pipe(Config.withDefault(defaults.prefix)),
  maxMessageBytes
})

/** The echo's settings as a service. */
export class EchoConfig extends Context.Tag("websocket-echo/EchoConfig")<EchoConfig, EchoSettings>() {
  /** Reads the settings from the current `ConfigProvider`; fails with a `ConfigError` naming the bad variable. */
  static readonly layer: Layer.Layer<EchoConfig, ConfigError.ConfigError> = Layer.effect(EchoConfig, config)

  /** Fixed settings, for tests and for apps that configure the echo in code. */
  static readonly layerWith = (settings: Partial<EchoSettings> = {}): Layer.Layer<EchoConfig> =>
    Layer.succeed(EchoConfig, { ...defaults, ...settings })
}
