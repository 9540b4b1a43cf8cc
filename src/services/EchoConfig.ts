import * as Config from "effect/Config"
import * as ConfigError from "effect/ConfigError"
import * as Context from "effect/Context"
import * as Either from "effect/Either"
import * as Layer from "effect/Layer"
import * as LogLevel from "effect/LogLevel"
import { byteLength, MAX_PREFIX_BYTES } from "../domain/Message.js"
import { normalizeOrigin } from "../domain/Origin.js"
import { MAX_SUBPROTOCOL_BYTES, oversizedSubprotocol, parseSubprotocols } from "../domain/Subprotocol.js"

/** The platform's own cap on a WebSocket message: 32 MiB. */
export const PLATFORM_MAX_MESSAGE_BYTES = 33_554_432

/**
 * The echo's settings, read once when the layer is built.
 *
 * @example
 * ```ts
 * import { EchoConfig, type EchoSettings } from "websocket-echo/EchoServer"
 *
 * // A public echo: small messages, a steady rate, a minute of silence at most, no test behaviours.
 * const publicEcho: Partial<EchoSettings> = {
 *   maxMessageBytes: 4_096,
 *   maxMessagesPerSecond: 10,
 *   idleTimeoutSeconds: 60,
 *   testBehaviours: false
 * }
 *
 * export const EchoLive = EchoConfig.layerWith(publicEcho)
 * ```
 *
 * @since 2.0.0
 */
export interface EchoSettings {
  /** Put in front of every echoed message; empty for an exact echo. */
  readonly prefix: string
  /** The largest message echoed; a larger one closes the socket with 1009. */
  readonly maxMessageBytes: number
  /** Origins allowed to open a socket, in canonical form; empty allows every origin. */
  readonly allowedOrigins: ReadonlyArray<string>
  /** Whether an upgrade without an `Origin` header is refused. */
  readonly requireOrigin: boolean
  /** Seconds without a message either way before the socket is closed with 1001; 0 turns it off. */
  readonly idleTimeoutSeconds: number
  /** Messages a peer may send per second (burst included) before it is closed with 1008; 0 turns it off. */
  readonly maxMessagesPerSecond: number
  /** Subprotocols this server speaks, in its order of preference; empty accepts the client's first offer. */
  readonly protocols: ReadonlyArray<string>
  /** How a Worker echoes a socket: a `Stream` in a fiber per socket, or a handler called per message. */
  readonly pipeline: Pipeline
  /** Where sockets live: in the Worker's request, or in a hibernating Durable Object. */
  readonly backend: Backend
  /** The least severe log level written. */
  readonly logLevel: LogLevel.LogLevel
  /**
   * Whether `/echo` takes the behaviour parameters (`close_code`, `delay_ms`, …) and `/whoami` exists. Off by
   * default, so that an app that mounts the echo offers a plain echo; the deployed test server turns it on.
   */
  readonly testBehaviours: boolean
  /** The most sockets one room holds; the next upgrade to it gets 503. */
  readonly maxRoomSockets: number
}

/**
 * `stream`: the messages as a `Stream` consumed by a fiber per socket. `handler`: a callback per message.
 *
 * @example
 * ```ts
 * import { EchoConfig, type Pipeline } from "websocket-echo/EchoServer"
 *
 * // The handler costs the least CPU per message; the stream composes with Effect's operators.
 * const pipeline: Pipeline = "handler"
 *
 * export const EchoLive = EchoConfig.layerWith({ pipeline })
 * ```
 *
 * @since 2.0.0
 */
export type Pipeline = "stream" | "handler"

/**
 * `worker`: sockets live in the Worker's request. `durable-object`: in a hibernating Durable Object.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { EchoRooms } from "websocket-echo/EchoRooms"
 * import { type Backend, EchoConfig } from "websocket-echo/EchoServer"
 * import { WorkerEnv } from "websocket-echo/Workers"
 *
 * // Every socket in a hibernating Durable Object, so that an idle one costs nothing: that needs the rooms.
 * const backend: Backend = "durable-object"
 *
 * export const EchoLive = Layer.merge(
 *   EchoConfig.layerWith({ backend }),
 *   Layer.unwrapEffect(Effect.map(WorkerEnv, (env) => EchoRooms.layer(env.ECHO_ROOMS)))
 * )
 * ```
 *
 * @since 2.0.0
 */
export type Backend = "worker" | "durable-object"

/** The settings when nothing is configured. */
export const defaults: EchoSettings = {
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
}

const invalid = (name: string, expected: string, text: string) =>
  Either.left(ConfigError.InvalidData([name], `${name} must be ${expected}, got ${JSON.stringify(text)}`))

const integer = (name: string, min: number, max: number, fallback: number): Config.Config<number> =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail((text) => {
      const value = Number(text)
      return /^\d+$/.test(text.trim()) && value >= min && value <= max
        ? Either.right(value)
        : invalid(name, `an integer from ${min} to ${max}`, text)
    })
  )

const boolean = (name: string, fallback: boolean): Config.Config<boolean> =>
  Config.string(name).pipe(
    Config.withDefault(String(fallback)),
    Config.mapOrFail((text) => {
      const value = text.trim().toLowerCase()
      return value === "true" || value === "false"
        ? Either.right(value === "true")
        : invalid(name, "true or false", text)
    })
  )

const origins = (name: string): Config.Config<ReadonlyArray<string>> =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.mapOrFail((text) => {
      if (text.trim() === "" || text.trim() === "*") return Either.right([])
      const canonical: Array<string> = []
      for (const entry of text.split(",")) {
        const origin = normalizeOrigin(entry)
        if (origin === undefined) {
          return invalid(name, "a comma-separated list of origins like https://example.com:8443", entry.trim())
        }
        canonical.push(origin)
      }
      return Either.right(canonical)
    })
  )

const oneOf = <A extends string>(name: string, values: ReadonlyArray<A>, fallback: A): Config.Config<A> =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((text) => {
      const value = values.find((candidate) => candidate === text.trim().toLowerCase())
      return value === undefined ? invalid(name, `one of ${values.join(", ")}`, text) : Either.right(value)
    })
  )

/** The echo's prefix: at most `MAX_PREFIX_BYTES`, since each socket of a room keeps it in its attachment. */
const prefix = (name: string, fallback: string): Config.Config<string> =>
  Config.string(name).pipe(
    Config.withDefault(fallback),
    Config.mapOrFail((text) => {
      const bytes = byteLength(text)
      return bytes <= MAX_PREFIX_BYTES
        ? Either.right(text)
        : Either.left(
            ConfigError.InvalidData([name], `${name} must be at most ${MAX_PREFIX_BYTES} UTF-8 bytes, got ${bytes}`)
          )
    })
  )

/** The subprotocols the server speaks: tokens of at most `MAX_SUBPROTOCOL_BYTES`, the longest it agrees to. */
const protocols = (name: string): Config.Config<ReadonlyArray<string>> =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.mapOrFail((text) => {
      if (text.trim() === "") return Either.right([])
      const tooLong = oversizedSubprotocol(text)
      if (tooLong !== undefined) {
        return Either.left(
          ConfigError.InvalidData(
            [name],
            `${name} must list subprotocols of at most ${MAX_SUBPROTOCOL_BYTES} bytes, got one of ${tooLong} bytes`
          )
        )
      }
      return Either.fromNullable(parseSubprotocols(text), () =>
        ConfigError.InvalidData(
          [name],
          `${name} must be a comma-separated list of unique subprotocol tokens (like chat, graphql-ws), got ${JSON.stringify(text)}`
        )
      )
    })
  )

const LOG_LEVELS = {
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  none: LogLevel.None
}

/**
 * The settings as an Effect `Config`: `ECHO_PREFIX`, `MAX_MESSAGE_BYTES`, `ALLOWED_ORIGINS`,
 * `REQUIRE_ORIGIN`, `IDLE_TIMEOUT_SECONDS`, `MAX_MESSAGES_PER_SECOND`, `PROTOCOLS`, `ECHO_PIPELINE`,
 * `ECHO_BACKEND`, `LOG_LEVEL`, `TEST_BEHAVIOURS` and `MAX_ROOM_SOCKETS`.
 */
export const config: Config.Config<EchoSettings> = Config.all({
  prefix: prefix("ECHO_PREFIX", defaults.prefix),
  maxMessageBytes: integer("MAX_MESSAGE_BYTES", 1, PLATFORM_MAX_MESSAGE_BYTES, defaults.maxMessageBytes),
  allowedOrigins: origins("ALLOWED_ORIGINS"),
  requireOrigin: boolean("REQUIRE_ORIGIN", defaults.requireOrigin),
  idleTimeoutSeconds: integer("IDLE_TIMEOUT_SECONDS", 0, 86_400, defaults.idleTimeoutSeconds),
  maxMessagesPerSecond: integer("MAX_MESSAGES_PER_SECOND", 0, 1_000_000, defaults.maxMessagesPerSecond),
  protocols: protocols("PROTOCOLS"),
  pipeline: oneOf("ECHO_PIPELINE", ["stream", "handler"], defaults.pipeline),
  backend: oneOf("ECHO_BACKEND", ["worker", "durable-object"], defaults.backend),
  logLevel: oneOf("LOG_LEVEL", Object.keys(LOG_LEVELS) as Array<keyof typeof LOG_LEVELS>, "info").pipe(
    Config.map((name) => LOG_LEVELS[name])
  ),
  testBehaviours: boolean("TEST_BEHAVIOURS", defaults.testBehaviours),
  maxRoomSockets: integer("MAX_ROOM_SOCKETS", 1, 32_768, defaults.maxRoomSockets)
})

/**
 * The echo's settings as a service.
 *
 * @example
 * ```ts
 * import * as Config from "effect/Config"
 * import * as ConfigProvider from "effect/ConfigProvider"
 * import * as Layer from "effect/Layer"
 * import { EchoConfig } from "websocket-echo/EchoServer"
 *
 * // From variables (wrangler.toml's [vars]): a bad one fails the layer with a ConfigError that names it.
 * export const FromVars = EchoConfig.layer.pipe(
 *   Layer.provide(Layer.setConfigProvider(ConfigProvider.fromJson({ ECHO_PREFIX: "> ", IDLE_TIMEOUT_SECONDS: "60" })))
 * )
 *
 * // In code, over the defaults.
 * export const InCode = EchoConfig.layerWith({ prefix: "> ", idleTimeoutSeconds: 60 })
 *
 * // The defaults, and the settings as a Config beside the app's own variables.
 * export const idleTimeoutSeconds = EchoConfig.defaults.idleTimeoutSeconds // 600
 * export const AppConfig = Config.all({ echo: EchoConfig.config, greeting: Config.string("GREETING") })
 * ```
 *
 * @since 2.0.0
 */
export class EchoConfig extends Context.Tag("websocket-echo/EchoConfig")<EchoConfig, EchoSettings>() {
  /** The settings when nothing is configured. */
  static readonly defaults: EchoSettings = defaults

  /** The settings as an Effect `Config`, read from the variables that wrangler.toml's `[vars]` documents. */
  static readonly config: Config.Config<EchoSettings> = config

  /** Reads the settings from the current `ConfigProvider`; fails with a `ConfigError` naming the bad variable. */
  static readonly layer: Layer.Layer<EchoConfig, ConfigError.ConfigError> = Layer.effect(EchoConfig, config)

  /** Fixed settings, for tests and for apps that configure the echo in code. */
  static readonly layerWith = (settings: Partial<EchoSettings> = {}): Layer.Layer<EchoConfig> =>
    Layer.succeed(EchoConfig, { ...defaults, ...settings })
}
