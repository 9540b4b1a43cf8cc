import { createExecutionContext, env, SELF } from "cloudflare:test"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import * as Logger from "effect/Logger"
import * as LogLevel from "effect/LogLevel"
import * as ManagedRuntime from "effect/ManagedRuntime"
import { afterEach, expect } from "vitest"
import { route } from "../../src/runtime/Route.js"
import { type Backend, EchoConfig, type EchoSettings, type Pipeline } from "../../src/services/EchoConfig.js"
import { EchoRooms } from "../../src/services/EchoRooms.js"
import { EchoTaps } from "../../src/services/EchoTaps.js"
import { WebSocketService } from "../../src/services/WebSocketService.js"
import { ExecutionContext } from "../../src/services/WorkerContext.js"

/**
 * How long a test waits for one event before it fails: far longer than any event takes (tens of ms), so that
 * only a lost event fails, not a machine busy with three runtimes and a dev server on two cores.
 */
export const TIMEOUT_MS = 10_000

export interface Closed {
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
}

/** Every client of the running test; the ones still open are closed after it. */
const clients = new Set<Client>()

// The Worker keeps each socket's request alive until its echo has ended (`ctx.waitUntil`): a test leaves none open.
afterEach(async () => {
  const open = [...clients].filter((client) => client.socket.readyState === WebSocket.OPEN)
  clients.clear()
  await Promise.all(open.map((client) => client.close(1000).catch(() => undefined)))
})

/** The client end of an echo socket, with its events as awaitable values. */
export class Client {
  private readonly inbox: Array<string | ArrayBuffer> = []
  private waiting: ((message: string | ArrayBuffer) => void) | undefined
  readonly closed: Promise<Closed>

  constructor(readonly socket: WebSocket) {
    socket.binaryType = "arraybuffer"
    socket.addEventListener("message", (event) => {
      const data = event.data as string | ArrayBuffer
      if (this.waiting) {
        const resolve = this.waiting
        this.waiting = undefined
        resolve(data)
      } else this.inbox.push(data)
    })
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", (event) =>
        resolve({ code: event.code, reason: event.reason, wasClean: event.wasClean })
      )
    )
    socket.accept()
    clients.add(this)
  }

  /** How many messages arrived that no `next` has taken yet. */
  get unread(): number {
    return this.inbox.length
  }

  /** The next message, or a failure after `TIMEOUT_MS`. */
  next(): Promise<string | ArrayBuffer> {
    const queued = this.inbox.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    return within(new Promise((resolve) => (this.waiting = resolve)), "a message")
  }

  /** Closes with a code and reason, and returns the close frame the server answered with. */
  close(code?: number, reason?: string): Promise<Closed> {
    this.socket.close(code, reason)
    return this.whenClosed()
  }

  /** The server's close frame, or a failure after `TIMEOUT_MS`. */
  whenClosed(): Promise<Closed> {
    return within(this.closed, "the close")
  }
}

export const within = <A>(promise: Promise<A>, what: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

/** Upgrades `path` through the Worker and returns the accepted client end. */
export const connect = async (path = "/echo", headers: Record<string, string> = {}): Promise<Client> => {
  const response = await SELF.fetch(`http://echo.test${path}`, { headers: { Upgrade: "websocket", ...headers } })
  expect(response.status).toBe(101)
  expect(response.webSocket).not.toBeNull()
  return new Client(response.webSocket as WebSocket)
}

/** The bytes of a binary message; fails if it arrived as text. */
export const bytesOf = (message: string | ArrayBuffer): Array<number> => {
  expect(message).toBeInstanceOf(ArrayBuffer)
  return Array.from(new Uint8Array(message as ArrayBuffer))
}

/**
 * The whole service with other settings than wrangler.toml's, in this project's mode, as a fetch handler
 * on the real `WebSocketService`. Logs below warning are dropped.
 */
export const serviceWith = (settings: Partial<EchoSettings>): ((request: Request) => Promise<Response>) => {
  const layer = Layer.mergeAll(
    WebSocketService.layer,
    EchoRooms.layer(env.ECHO_ROOMS),
    EchoTaps.layer(env.ECHO_TAPS),
    EchoConfig.layerWith({
      pipeline: env.ECHO_PIPELINE as Pipeline,
      backend: env.ECHO_BACKEND as Backend,
      testBehaviours: true,
      ...settings
    }),
    Logger.minimumLogLevel(LogLevel.Warning)
  )
  const runtime = ManagedRuntime.make(layer)
  return (request) =>
    runtime.runPromise(route(request).pipe(Effect.provideService(ExecutionContext, createExecutionContext())))
}
