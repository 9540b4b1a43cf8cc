import { inject } from "vitest"
import WebSocket from "ws"

/** How long a test waits for one event before it fails. */
export const TIMEOUT_MS = 10_000

/** The run's server, as `http://127.0.0.1:PORT`, and its echo as `ws://127.0.0.1:PORT/echo`. */
export const origin = (): string => inject("origin")
export const echoUrl = (): string => `${origin().replace(/^http/, "ws")}/echo`

/** A message as `ws` delivers it: its bytes and whether the frame was binary. */
export interface Received {
  readonly data: Buffer
  readonly isBinary: boolean
}

export interface Closed {
  readonly code: number
  readonly reason: string
}

/** `promise`, or a failure naming `what` was awaited after `ms`. */
export const within = <A>(promise: Promise<A>, what: string | (() => string), ms = TIMEOUT_MS): Promise<A> =>
  new Promise<A>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${typeof what === "string" ? what : what()} within ${ms} ms`)),
      ms
    )
    promise.then(resolve, reject).finally(() => clearTimeout(timer))
  })

/** A `ws` client on the echo, with its messages and its close as awaitable values. */
export class Client {
  private readonly inbox: Array<Received> = []
  private waiting: ((message: Received) => void) | undefined
  readonly closed: Promise<Closed>

  private constructor(readonly socket: WebSocket) {
    socket.on("message", (data: Buffer, isBinary) => {
      const message = { data, isBinary }
      if (this.waiting) {
        const resolve = this.waiting
        this.waiting = undefined
        resolve(message)
      } else this.inbox.push(message)
    })
    this.closed = new Promise((resolve) =>
      socket.on("close", (code, reason) => resolve({ code, reason: reason.toString("utf8") }))
    )
  }

  /** Opens a connection to the echo (the run's, or `url`), offering `protocols` if any, and waits until it is open. */
  static async open(
    options: WebSocket.ClientOptions = {},
    protocols: Array<string> = [],
    url = echoUrl()
  ): Promise<Client> {
    const socket = new WebSocket(url, protocols, { maxPayload: 64 * 1024 * 1024, ...options })
    const client = new Client(socket)
    await within(
      new Promise<void>((resolve, reject) => {
        socket.once("open", () => resolve())
        socket.once("error", reject)
      }),
      "open"
    )
    return client
  }

  /** The next message, or a failure after `TIMEOUT_MS`. */
  next(): Promise<Received> {
    const queued = this.inbox.shift()
    if (queued !== undefined) return Promise.resolve(queued)
    return within(new Promise((resolve) => (this.waiting = resolve)), "message")
  }

  /** The next message, which must be a text frame. */
  async nextText(): Promise<string> {
    const { data, isBinary } = await this.next()
    if (isBinary) throw new Error(`expected a text frame, got ${data.length} binary bytes`)
    return data.toString("utf8")
  }

  /** Closes with a code and reason, and returns the close frame the server answered with. */
  close(code?: number, reason?: string): Promise<Closed> {
    this.socket.close(code, reason)
    return this.whenClosed()
  }

  /** The server's close frame, or a failure after `TIMEOUT_MS`. */
  whenClosed(): Promise<Closed> {
    return within(this.closed, "close")
  }
}
