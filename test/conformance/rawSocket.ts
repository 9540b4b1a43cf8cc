import { randomBytes } from "node:crypto"
import { connect, type Socket } from "node:net"

/** How long a case waits for one event from the server before it fails. */
export const TIMEOUT_MS = 10_000

/** RFC 6455 §5.2 opcodes. */
export const Op = { Continuation: 0x0, Text: 0x1, Binary: 0x2, Close: 0x8, Ping: 0x9, Pong: 0xa } as const

/** A frame as it travels on the wire. */
export interface Frame {
  readonly fin: boolean
  /** The three RSV bits, as a number 0–7 (RSV1 is 4). */
  readonly rsv: number
  readonly opcode: number
  readonly payload: Buffer
}

/** What the server did once the case was over: its close frame, if any, and whether it ended TCP. */
export interface Ending {
  readonly close: { readonly code: number | undefined; readonly reason: string } | undefined
  readonly tcpClosed: boolean
}

export interface FrameOptions {
  readonly fin?: boolean
  readonly rsv?: number
  /** `false` sends the payload unmasked, which a client must never do (RFC 6455 §5.1). */
  readonly mask?: boolean
}

/** Encodes one client frame (RFC 6455 §5.2), masked with a random key unless told otherwise. */
export const encodeFrame = (opcode: number, payload: Buffer | string = Buffer.alloc(0), options: FrameOptions = {}) => {
  const data = typeof payload === "string" ? Buffer.from(payload) : payload
  const masked = options.mask ?? true
  const length = data.length
  const header: Array<number> = [((options.fin ?? true) ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | opcode]
  const maskBit = masked ? 0x80 : 0
  if (length < 126) header.push(maskBit | length)
  else if (length < 65_536) header.push(maskBit | 126, length >> 8, length & 0xff)
  else {
    const extended = Buffer.alloc(8)
    extended.writeBigUInt64BE(BigInt(length))
    header.push(maskBit | 127, ...extended)
  }
  if (!masked) return Buffer.concat([Buffer.from(header), data])
  const key = randomBytes(4)
  const body = Buffer.alloc(length)
  for (let i = 0; i < length; i++) body[i] = (data[i] as number) ^ (key[i & 3] as number)
  return Buffer.concat([Buffer.from(header), key, body])
}

/** The payload of a close frame: a 2-byte code and a UTF-8 reason, or nothing. */
export const closePayload = (code?: number, reason: string | Buffer = ""): Buffer => {
  if (code === undefined) return Buffer.alloc(0)
  const head = Buffer.alloc(2)
  head.writeUInt16BE(code)
  return Buffer.concat([head, typeof reason === "string" ? Buffer.from(reason) : reason])
}

/** An HTTP response head. */
export interface ResponseHead {
  readonly status: number
  readonly statusLine: string
  /** Lower-cased names; repeated headers joined with ", ". */
  readonly headers: Record<string, string>
  readonly raw: string
}

const parseHead = (raw: string): ResponseHead => {
  const [statusLine = "", ...lines] = raw.split("\r\n")
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(":")
    if (colon <= 0) continue
    const name = line.slice(0, colon).trim().toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  return { status: Number(statusLine.split(" ")[1]), statusLine, headers, raw }
}

/** A TCP connection that speaks HTTP/1.1 and WebSocket frames by hand. */
export class RawSocket {
  private buffer: Buffer = Buffer.alloc(0)
  private wake: (() => void) | undefined
  private ended = false
  private closeSent = false

  private constructor(readonly socket: Socket) {
    socket.on("data", (chunk: Buffer) => {
      this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
      this.notify()
    })
    socket.on("close", () => {
      this.ended = true
      this.notify()
    })
    socket.on("error", () => {})
  }

  private notify() {
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  /** Opens a TCP connection to the loopback port. */
  static open(port: number): Promise<RawSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, noDelay: true })
      socket.once("connect", () => resolve(new RawSocket(socket)))
      socket.once("error", reject)
    })
  }

  /** Resolves once `ready()` holds, re-checking on every chunk and on close; fails after `TIMEOUT_MS`. */
  private waitFor<A>(ready: () => A | undefined, what: string, timeoutMs = TIMEOUT_MS): Promise<A> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.wake = undefined
        reject(new Error(`no ${what} within ${timeoutMs} ms`))
      }, timeoutMs)
      const check = () => {
        let value: A | undefined
        try {
          value = ready()
        } catch (error) {
          clearTimeout(timer)
          return reject(error)
        }
        if (value !== undefined) {
          clearTimeout(timer)
          resolve(value)
        } else this.wake = check
      }
      check()
    })
  }

  write(data: Buffer | string): void {
    this.socket.write(data)
  }

  /** Sends one frame. */
  send(opcode: number, payload?: Buffer | string, options?: FrameOptions): void {
    if (opcode === Op.Close) this.closeSent = true
    this.write(encodeFrame(opcode, payload, options))
  }

  /** Reads an HTTP response head (status line and headers). */
  readHead(): Promise<ResponseHead> {
    return this.waitFor(() => {
      const end = this.buffer.indexOf("\r\n\r\n")
      if (end < 0) {
        if (this.ended)
          throw new Error(`connection closed before a response head: ${JSON.stringify(String(this.buffer))}`)
        return undefined
      }
      const head = parseHead(this.buffer.subarray(0, end).toString("latin1"))
      this.buffer = this.buffer.subarray(end + 4)
      return head
    }, "response head")
  }

  /** Reads an HTTP body of `content-length` bytes, or until the connection closes. */
  readBody(head: ResponseHead): Promise<string> {
    const length = head.headers["content-length"]
    return this.waitFor(() => {
      if (length !== undefined && this.buffer.length >= Number(length))
        return this.buffer.subarray(0, Number(length)).toString()
      if (this.ended) return this.buffer.toString()
      return undefined
    }, "response body")
  }

  private parseFrame(): Frame | undefined {
    const b = this.buffer
    if (b.length < 2) return undefined
    const first = b[0] as number
    const second = b[1] as number
    let length = second & 0x7f
    let offset = 2
    if (length === 126) {
      if (b.length < 4) return undefined
      length = b.readUInt16BE(2)
      offset = 4
    } else if (length === 127) {
      if (b.length < 10) return undefined
      length = Number(b.readBigUInt64BE(2))
      offset = 10
    }
    if (second & 0x80) throw new Error("the server sent a masked frame")
    if (b.length < offset + length) return undefined
    const frame = {
      fin: (first & 0x80) !== 0,
      rsv: (first >> 4) & 7,
      opcode: first & 0x0f,
      payload: Buffer.from(b.subarray(offset, offset + length))
    }
    this.buffer = b.subarray(offset + length)
    return frame
  }

  /** The next frame from the server, control frames included. */
  nextFrame(timeoutMs?: number): Promise<Frame> {
    return this.waitFor(
      () => {
        const frame = this.parseFrame()
        if (frame) return frame
        if (this.ended) throw new Error("connection closed while waiting for a frame")
        return undefined
      },
      "frame",
      timeoutMs
    )
  }

  /** The next complete message (text or binary, fragments joined), skipping pongs. */
  async nextMessage(): Promise<{ readonly opcode: number; readonly payload: Buffer }> {
    const parts: Array<Buffer> = []
    let opcode: number | undefined
    for (;;) {
      const frame = await this.nextFrame()
      if (frame.opcode === Op.Pong || frame.opcode === Op.Ping) continue
      if (frame.opcode === Op.Close) throw new Error(`close ${describeClose(frame.payload)} instead of a message`)
      opcode ??= frame.opcode
      parts.push(frame.payload)
      if (frame.fin) return { opcode, payload: Buffer.concat(parts) }
    }
  }

  /**
   * Reads until the server's close frame and the end of TCP; anything else in between is collected.
   * Resolves with what happened by then, even if the server never closes.
   */
  async ending(timeoutMs = TIMEOUT_MS): Promise<Ending & { readonly before: ReadonlyArray<Frame> }> {
    const before: Array<Frame> = []
    let close: Ending["close"]
    const deadline = Date.now() + timeoutMs
    while (close === undefined) {
      const remaining = deadline - Date.now()
      if (remaining <= 0) break
      const frame = await this.nextFrame(remaining).catch(() => undefined)
      if (frame === undefined) break
      if (frame.opcode === Op.Close) {
        close = {
          code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined,
          reason: frame.payload.subarray(2).toString()
        }
      } else before.push(frame)
    }
    // Answer a close the server started, as a client must, then see whether the server ends TCP.
    if (close !== undefined && !this.ended && !this.closeSent) this.send(Op.Close, closePayload(close.code))
    const remaining = Math.max(deadline - Date.now(), 100)
    const tcpClosed = await this.waitFor(() => (this.ended ? true : undefined), "TCP close", remaining).catch(
      () => false
    )
    return { close, tcpClosed, before }
  }

  /** The frames already received and not read yet, read now: what came after the last frame a case waited for. */
  framesLeft(): Array<Frame> {
    const frames: Array<Frame> = []
    for (let frame = this.parseFrame(); frame !== undefined; frame = this.parseFrame()) frames.push(frame)
    return frames
  }

  /** Whether the server has ended the TCP connection. */
  get isEnded(): boolean {
    return this.ended
  }

  /** Ends the TCP connection with a reset, without a close frame. */
  reset(): void {
    this.socket.resetAndDestroy()
  }

  destroy(): void {
    this.socket.destroy()
  }
}

const describeClose = (payload: Buffer) =>
  payload.length >= 2 ? `${payload.readUInt16BE(0)} ${JSON.stringify(payload.subarray(2).toString())}` : "(no code)"

/** A valid `Sec-WebSocket-Key`: 16 random bytes in base64. */
export const newKey = () => randomBytes(16).toString("base64")

/** A handshake request (RFC 6455 §4.1) with any header overridden, removed (`undefined`) or sent on several lines (an array). */
export const handshakeRequest = (
  port: number,
  options: {
    readonly method?: string
    readonly path?: string
    readonly version?: string
    readonly headers?: Record<string, string | ReadonlyArray<string> | undefined>
  } = {}
): string => {
  const headers: Record<string, string | ReadonlyArray<string> | undefined> = {
    Host: `127.0.0.1:${port}`,
    Upgrade: "websocket",
    Connection: "Upgrade",
    "Sec-WebSocket-Key": newKey(),
    "Sec-WebSocket-Version": "13",
    ...options.headers
  }
  const lines = Object.entries(headers).flatMap(([name, value]) =>
    value === undefined ? [] : (typeof value === "string" ? [value] : value).map((line) => `${name}: ${line}`)
  )
  return `${options.method ?? "GET"} ${options.path ?? "/echo"} ${options.version ?? "HTTP/1.1"}\r\n${lines.join("\r\n")}\r\n\r\n`
}

/** Opens a socket, sends a handshake and reads the response head. */
export const handshake = async (port: number, options: Parameters<typeof handshakeRequest>[1] = {}) => {
  const socket = await RawSocket.open(port)
  socket.write(handshakeRequest(port, options))
  const head = await socket.readHead()
  return { socket, head }
}

/** A completed upgrade at `path` (default `/echo`), ready for frames; fails unless the server answered 101. */
export const upgraded = async (
  port: number,
  headers: Record<string, string | undefined> = {},
  path?: string
): Promise<RawSocket> => {
  const { socket, head } = await handshake(port, path === undefined ? { headers } : { headers, path })
  if (head.status !== 101) throw new Error(`expected 101, got ${head.statusLine}`)
  return socket
}
