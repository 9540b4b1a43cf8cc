import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as Queue from "effect/Queue"
import { isScenario, parseScenario, type Scenario } from "../../src/domain/Scenario.js"
import { echoPrograms } from "../../src/runtime/Echo.js"
import { route } from "../../src/runtime/Route.js"
import { defaults, EchoConfig, type EchoSettings, type Pipeline } from "../../src/services/EchoConfig.js"
import { type TestPeer, type UpgradeOptions, WebSocketService } from "../../src/services/WebSocketService.js"
import { ExecutionContext } from "../../src/services/WorkerContext.js"

/** A request's `ctx` on Node: nothing outlives a test's request, so there is nothing to wait for. */
export const testExecutionContext = Layer.succeed(ExecutionContext, {
  waitUntil: () => undefined,
  passThroughOnException: () => undefined
})

/** The echo's settings in the unit suites: the deployed Worker's, with the behaviours on. */
export const testSettings: EchoSettings = { ...defaults, testBehaviours: true }

/** Every echo program: the suites that describe the echo run once for each. */
export const PIPELINES: ReadonlyArray<Pipeline> = ["stream", "handler"]

/** A log line as a test sees it. */
export interface LogLine {
  readonly level: string
  readonly message: unknown
  readonly annotations: Record<string, unknown>
  readonly cause: string
}

/** A logger that keeps every line in `lines` instead of printing it. */
export const captureLogs = (lines: Array<LogLine>) =>
  Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ logLevel, message, annotations, cause }) =>
      lines.push({
        level: logLevel.label,
        message,
        annotations: Object.fromEntries(HashMap.toEntries(annotations)),
        cause: String(cause)
      })
    )
  )

/**
 * Upgrades through the in-memory service and starts `pipeline`'s echo on the connection, in a fiber. Its log
 * lines go to `logs` (to nowhere by default), never to the console.
 */
export const connect = (
  pipeline: Pipeline,
  options: Partial<UpgradeOptions> & {
    readonly prefix?: string
    readonly logs?: Array<LogLine>
    /** What the echo does besides echoing, as `/echo`'s query (`?close_after=2`). */
    readonly query?: string
  } = {}
) =>
  Effect.gen(function* () {
    const peers = yield* Queue.unbounded<TestPeer>()
    const connection = yield* Effect.flatMap(WebSocketService, (service) =>
      service.upgrade({ maxMessageBytes: 1024, ...options })
    ).pipe(Effect.provide(WebSocketService.layerTest(peers)))
    const fiber = yield* Effect.fork(
      echoPrograms[pipeline](connection, options.prefix ?? "echo: ", scenarioOf(options.query ?? "")).pipe(
        Effect.provide(captureLogs(options.logs ?? []))
      )
    )
    const peer = yield* Queue.take(peers)
    return { peer, fiber, connection }
  })

/** The scenario of an `/echo` query, which must be valid. */
export const scenarioOf = (query: string): Scenario => {
  const scenario = parseScenario(`http://echo.test/echo${query}`, testSettings)
  if (!isScenario(scenario)) throw new Error(`invalid test query ${query}: ${scenario.message}`)
  return scenario
}

/** Runs the whole service on one request against the in-memory service; `peers` receives each socket's client end. */
export const respond = (request: Request, settings: Partial<EchoSettings> = {}, peers?: Queue.Queue<TestPeer>) =>
  Effect.gen(function* () {
    const sockets = peers ?? (yield* Queue.unbounded<TestPeer>())
    const response = yield* route(request).pipe(
      Effect.provide(
        Layer.mergeAll(
          EchoConfig.layerWith({ testBehaviours: true, ...settings }),
          WebSocketService.layerTest(sockets),
          testExecutionContext
        )
      )
    )
    return { response, peers: sockets }
  })
