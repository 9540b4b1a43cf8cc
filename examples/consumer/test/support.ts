import { createExecutionContext, env, SELF, waitOnExecutionContext } from "cloudflare:test"
import { afterEach, beforeEach, expect, onTestFailed, vi } from "vitest"

/**
 * How long a test waits for one event before it fails: far longer than any event takes, so that only a lost
 * event fails a test, not a busy machine.
 */
export const TIMEOUT_MS = 10_000

/** `promise`, or a failure that names `what` after `TIMEOUT_MS`. */
export const within = <A>(promise: Promise<A>, what: string): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${what} within ${TIMEOUT_MS} ms`)), TIMEOUT_MS)
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

/** A close frame as the client saw it. */
export interface Closed {
  readonly code: number
  readonly reason: string
  readonly wasClean: boolean
}

/** A log line as Effect's JSON logger writes it (the app's layers have `Logger.json`). */
export interface LogLine {
  readonly message: unknown
  readonly logLevel: string
  readonly annotations: Record<string, unknown>
}

/**
 * Everything written to the console by any code in this isolate (the Worker's, the rooms', the test's) while the
 * running test runs, instead of printing it: the Worker writes its log lines there, so a line that is not here was
 * not written. A failed test prints them.
 */
export const written: Array<string> = []

/** The JSON lines of `written`, parsed; with `message`, only the lines that say it. */
export const logLines = (message?: string): Array<LogLine> =>
  written
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => message === undefined || line.message === message)

const print = console.error.bind(console)

beforeEach(() => {
  written.length = 0
  for (const method of ["debug", "info", "log", "warn", "error"] as const) {
    vi.spyOn(console, method).mockImplementation((...data: Array<unknown>) => {
      written.push(data.map(String).join(" "))
    })
  }
  onTestFailed(() => {
    if (written.length > 0) print(`The console during the failed test:\n${written.join("\n")}`)
  })
})

/** Every client a test opened: the ones still open when it ends are closed, so that no request stays alive. */
const clients = new Set<Client>()

afterEach(async () => {
  const open = [...clients].filter((client) => client.socket.readyState === WebSocket.OPEN)
  clients.clear()
  await Promise.all(open.map((client) => client.close(1000).catch(() => undefined)))
  vi.restoreAllMocks()
})

/** The client end of a socket, with its events as awaitable values. */
export class Client {
  private readonly inbox: Array<string | ArrayBuffer> = []
  private waiting: { resolve: (message: string | ArrayBuffer) => void; reject: (error: Error) => void } | undefined
  /** The server's close frame, once it has come. */
  closedWith: Closed | undefined
  readonly closed: Promise<Closed>

  constructor(readonly socket: WebSocket) {
    socket.binaryType = "arraybuffer"
    socket.addEventListener("message", (event) => {
      const data = event.data as string | ArrayBuffer
      const waiting = this.waiting
      this.waiting = undefined
      if (waiting === undefined) this.inbox.push(data)
      else waiting.resolve(data)
    })
    this.closed = new Promise((resolve) =>
      socket.addEventListener("close", (event) => {
        const closed = { code: event.code, reason: event.reason, wasClean: event.wasClean }
        this.closedWith = closed
        // A message awaited on a closed socket would never come: say so now rather than at the timeout.
        this.waiting?.reject(new Error(`the socket closed with ${closed.code} while a message was awaited`))
        this.waiting = undefined
        resolve(closed)
      })
    )
    socket.accept()
    clients.add(this)
  }

  /** How many messages arrived that no `next` has taken yet. */
  get unread(): number {
    return this.inbox.length
  }

  /** The next message, or a failure when the socket closes first or after `TIMEOUT_MS`. */
  next(): Promise<string | ArrayBuffer> {
    const queued = this.inbox.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    if (this.closedWith !== undefined) {
      return Promise.reject(new Error(`the socket closed with ${this.closedWith.code}; no message will come`))
    }
    return within(new Promise((resolve, reject) => (this.waiting = { resolve, reject })), "message")
  }

  /** Sends `message` and returns the next message the server sends. */
  reply(message: string | ArrayBuffer | ArrayBufferView): Promise<string | ArrayBuffer> {
    this.socket.send(message)
    return this.next()
  }

  /** Closes with `code` and `reason`, and returns the close frame the server answered with. */
  close(code: number, reason?: string): Promise<Closed> {
    this.socket.close(code, reason)
    return this.whenClosed()
  }

  /** The server's close frame, or a failure after `TIMEOUT_MS`. */
  whenClosed(): Promise<Closed> {
    return within(this.closed, "close frame")
  }
}

/** Upgrades `path` as a client would, in a request of its own (`SELF`), and returns the accepted client end. */
export const connect = async (path: string): Promise<Client> => {
  const response = await SELF.fetch(`http://example.test${path}`, { headers: { Upgrade: "websocket" } })
  expect(response.status, path).toBe(101)
  if (response.webSocket === null) throw new Error(`the 101 of ${path} has no webSocket`)
  return new Client(response.webSocket)
}

/** A Worker's `fetch`, as the tests call it. */
export interface Worker {
  readonly fetch?: ExportedHandlerFetchHandler<Env> | undefined
}

/** A request's answer, and the request's `ctx`: `done` settles once everything it waits for has ended. */
export interface Called {
  readonly response: Response
  readonly done: Promise<void>
  /** Whether `done` has settled yet. */
  readonly settled: () => boolean
}

/**
 * Calls `worker.fetch` directly with an `ExecutionContext` of the test's, as the runtime calls it, so that a test
 * sees how long the request lives: what the Worker hands to `ctx.waitUntil` keeps `done` pending.
 */
export const call = async (worker: Worker, path: string, headers: Record<string, string> = {}): Promise<Called> => {
  if (worker.fetch === undefined) throw new Error("the Worker has no fetch")
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(`http://example.test${path}`, { headers }), env, ctx)
  let settled = false
  const done = waitOnExecutionContext(ctx).then(() => {
    settled = true
  })
  return { response, done, settled: () => settled }
}

/** `call` with `Upgrade: websocket`: the accepted client end, with its request's `done`. */
export const upgrade = async (worker: Worker, path: string): Promise<Called & { readonly client: Client }> => {
  const called = await call(worker, path, { Upgrade: "websocket" })
  expect(called.response.status, path).toBe(101)
  if (called.response.webSocket === null) throw new Error(`the 101 of ${path} has no webSocket`)
  return { ...called, client: new Client(called.response.webSocket) }
}

/** The bytes of a binary message; fails if it arrived as text. */
export const bytesOf = (message: string | ArrayBuffer): Uint8Array => {
  expect(message).toBeInstanceOf(ArrayBuffer)
  return new Uint8Array(message as ArrayBuffer)
}
