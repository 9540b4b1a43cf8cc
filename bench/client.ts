// The load client: raw `node:net` sockets, pre-encoded masked frames, every echo checked byte for byte.
import { createHash } from "node:crypto"
import { connect, type Socket } from "node:net"
import { performance } from "node:perf_hooks"
import * as hdr from "hdr-histogram-js"

export const TEXT = 0x1
export const BINARY = 0x2
const CLOSE = 0x8
const MASK = Buffer.from([0x37, 0xfa, 0x21, 0x3d])
const KEY = "dGhlIHNhbXBsZSBub25jZQ=="
const ACCEPT = createHash("sha1").update(`${KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64")

const header = (opcode: number, length: number, masked: boolean): Buffer => {
  const extra = length < 126 ? 0 : length < 65536 ? 2 : 8
  const out = Buffer.alloc(2 + extra + (masked ? 4 : 0))
  out[0] = 0x80 | opcode
  const maskBit = masked ? 0x80 : 0
  if (extra === 0) out[1] = maskBit | length
  else if (extra === 2) {
    out[1] = maskBit | 126
    out.writeUInt16BE(length, 2)
  } else {
    out[1] = maskBit | 127
    out.writeBigUInt64BE(BigInt(length), 2)
  }
  if (masked) MASK.copy(out, 2 + extra)
  return out
}

/** A client frame as it goes on the wire (masked). */
export const clientFrame = (opcode: number, payload: Buffer): Buffer => {
  const masked = Buffer.from(payload)
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] as number) ^ (MASK[i & 3] as number)
  return Buffer.concat([header(opcode, payload.length, true), masked])
}

/** A server frame as it comes off the wire (unmasked). */
export const serverFrame = (opcode: number, payload: Buffer): Buffer =>
  Buffer.concat([header(opcode, payload.length, false), payload])

/**
 * What one connection sends, and the exact bytes it must get back for each: the frames are sent in turn (the
 * n-th message is `sends[n % length]`) and the n-th answer must be `expects[n % length]`, so answers must come
 * in order (at depth 1 they do).
 */
export interface Exchange {
  readonly sends: readonly Buffer[]
  readonly expects: readonly Buffer[]
  /** The upgrade request's path. Default `/echo`. */
  readonly path?: string
}

/** The exchange for a WebSocket echo server with a prefix; for a raw TCP echo, the frame comes back as sent. */
export const exchange = (opcode: number, payload: Buffer, prefix: string | undefined): Exchange => {
  const send = clientFrame(opcode, payload)
  return {
    sends: [send],
    expects: [prefix === undefined ? send : serverFrame(opcode, Buffer.concat([Buffer.from(prefix), payload]))]
  }
}

/** A latency histogram in microseconds. */
export const histogram = () =>
  hdr.build({
    bitBucketSize: 32,
    lowestDiscernibleValue: 1,
    highestTrackableValue: 60_000_000,
    numberOfSignificantValueDigits: 3
  })
export type Histogram = ReturnType<typeof histogram>

/** Counters shared by all connections of one measurement. */
export class Meter {
  recording = false
  /** Only messages meant to go out from this time on count toward latency (warm-up excluded). */
  from = 0
  received = 0
  mismatches = 0
  /** The first frame that mismatched, as text (for the error message). */
  firstMismatch: string | undefined
  readonly latency: Histogram = histogram()
  record(sentAt: number, now: number) {
    if (!this.recording) return
    this.received++
    if (sentAt >= this.from) this.latency.recordValue(Math.max(1, Math.round((now - sentAt) * 1000)))
  }
}

/** One client connection: a FIFO of send times, a frame parser, and a check of every echo. */
export class Connection {
  private pending: Buffer | undefined
  private readonly times: number[] = []
  private head = 0
  private sent = 0
  private answered = 0
  private closing: (() => void) | undefined
  /** Called after each verified echo (closed loop sends the next one from here). */
  onEcho: (() => void) | undefined

  private constructor(
    readonly socket: Socket,
    private readonly ex: Exchange,
    private meter: Meter,
    private readonly raw: boolean
  ) {
    socket.on("data", (chunk: Buffer) => this.onData(chunk))
  }

  /** Opens a socket and, unless `raw`, completes the WebSocket handshake on it (within `timeoutMs`). */
  static open(port: number, ex: Exchange, meter: Meter, raw: boolean, timeoutMs = 15_000): Promise<Connection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, noDelay: true })
      const timer = setTimeout(() => fail(new Error(`no handshake within ${timeoutMs} ms`)), timeoutMs)
      const fail = (error: Error) => {
        clearTimeout(timer)
        socket.destroy()
        reject(error)
      }
      socket.once("error", fail)
      socket.once("connect", () => {
        if (raw) {
          clearTimeout(timer)
          socket.off("error", fail)
          socket.on("error", () => undefined)
          return resolve(new Connection(socket, ex, meter, true))
        }
        socket.write(
          `GET ${ex.path ?? "/echo"} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`
        )
        let head = Buffer.alloc(0)
        const onData = (chunk: Buffer) => {
          head = Buffer.concat([head, chunk])
          const end = head.indexOf("\r\n\r\n")
          if (end < 0) return
          socket.off("data", onData)
          const text = head.subarray(0, end).toString("latin1")
          if (
            !text.startsWith("HTTP/1.1 101") ||
            !text.toLowerCase().includes(`sec-websocket-accept: ${ACCEPT.toLowerCase()}`)
          ) {
            return fail(new Error(`handshake refused: ${text.split("\r\n")[0]}`))
          }
          if (/sec-websocket-extensions:\s*\S/i.test(text)) return fail(new Error("server negotiated an extension"))
          clearTimeout(timer)
          socket.off("error", fail)
          socket.on("error", () => undefined)
          const connection = new Connection(socket, ex, meter, false)
          if (head.length > end + 4) connection.onData(head.subarray(end + 4))
          resolve(connection)
        }
        socket.on("data", onData)
      })
    })
  }

  /** Counts the next echoes into another measurement. */
  retarget(meter: Meter) {
    this.meter = meter
  }

  /** Messages sent and not echoed yet. */
  get inFlight(): number {
    return this.times.length - this.head
  }

  /** Sends one message, remembering when it was meant to go (now, unless given). */
  send(at: number = performance.now()) {
    this.times.push(at)
    const { sends } = this.ex
    this.socket.write(sends[this.sent++ % sends.length] as Buffer)
  }

  private onData(chunk: Buffer) {
    const data = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
    let offset = 0
    const { expects } = this.ex
    const now = performance.now()
    for (;;) {
      const left = data.length - offset
      if (left < 2) break
      const b1 = data[offset + 1] as number
      let length = b1 & 0x7f
      let size = 2
      if (length === 126) {
        if (left < 4) break
        length = data.readUInt16BE(offset + 2)
        size = 4
      } else if (length === 127) {
        if (left < 10) break
        length = Number(data.readBigUInt64BE(offset + 2))
        size = 10
      }
      if (b1 & 0x80) size += 4
      const total = size + length
      if (left < total) break
      if (this.closing !== undefined) {
        if (((data[offset] as number) & 0x0f) === CLOSE) this.closing()
      } else {
        const expect = expects[this.answered++ % expects.length] as Buffer
        const ok = total === expect.length && data.compare(expect, 0, total, offset, offset + total) === 0
        if (!ok) {
          this.meter.mismatches++
          this.meter.firstMismatch ??= `${data.subarray(offset + size, offset + Math.min(total, size + 300))}`
        }
        const sentAt = this.times[this.head++] as number
        if (this.head > 4096) {
          this.times.splice(0, this.head)
          this.head = 0
        }
        this.meter.record(sentAt, now)
        this.onEcho?.()
      }
      offset += total
    }
    this.pending = offset < data.length ? data.subarray(offset) : undefined
  }

  /** Closes cleanly: close frame, the server's close frame, then FIN; resolves when the socket is gone. */
  close(timeoutMs = 10_000): Promise<boolean> {
    return new Promise((resolve) => {
      this.onEcho = undefined
      const timer = setTimeout(() => {
        this.socket.destroy()
        resolve(false)
      }, timeoutMs)
      this.socket.once("close", () => {
        clearTimeout(timer)
        resolve(true)
      })
      if (this.raw) {
        this.socket.end()
        return
      }
      this.closing = () => this.socket.end()
      this.socket.write(clientFrame(CLOSE, Buffer.from([0x03, 0xe8])))
    })
  }
}

/** Opens `count` connections, at most `parallel` handshakes at a time. */
export const openMany = async (
  count: number,
  parallel: number,
  open: () => Promise<Connection>
): Promise<Connection[]> => {
  const out: Connection[] = []
  let next = 0
  const worker = async () => {
    while (next < count) {
      next++
      out.push(await open())
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker))
  return out
}

const waitUntil = (done: () => boolean, timeoutMs: number): Promise<boolean> =>
  new Promise((resolve) => {
    const deadline = performance.now() + timeoutMs
    const check = () => {
      if (done()) return resolve(true)
      if (performance.now() > deadline) return resolve(false)
      setTimeout(check, 5)
    }
    check()
  })

/** What one measured window gave. */
export interface Window {
  readonly seconds: number
  readonly received: number
  readonly mismatches: number
  readonly latency: Histogram
  /** Echoes still missing when the window ended and the drain timed out. */
  readonly lost: number
}

/**
 * Closed loop: every connection keeps `depth` messages in flight. Warm-up first (not recorded), then the
 * measured window; `probe` is called at the window's edges (CPU readings).
 */
export const closedLoop = async (
  connections: readonly Connection[],
  meter: Meter,
  options: { depth: number; warmupMs: number; measureMs: number; probe: (edge: "start" | "end") => void }
): Promise<Window> => {
  let running = true
  for (const connection of connections) {
    connection.onEcho = () => {
      if (running) connection.send()
    }
    for (let i = 0; i < options.depth; i++) connection.send()
  }
  await sleep(options.warmupMs)
  options.probe("start")
  const start = performance.now()
  meter.from = start
  meter.recording = true
  await sleep(options.measureMs)
  meter.recording = false
  const seconds = (performance.now() - start) / 1000
  options.probe("end")
  running = false
  const drained = await waitUntil(() => connections.every((c) => c.inFlight === 0), 10_000)
  const lost = drained ? 0 : connections.reduce((n, c) => n + c.inFlight, 0)
  for (const connection of connections) connection.onEcho = undefined
  return { seconds, received: meter.received, mismatches: meter.mismatches, latency: meter.latency, lost }
}

/**
 * Open loop at a fixed total rate, spread round-robin over the connections. Latency is measured from the
 * intended send time, so a server that stalls is charged for every message it delayed (coordinated omission).
 */
export const openLoop = async (
  connections: readonly Connection[],
  meter: Meter,
  options: { rate: number; warmupMs: number; measureMs: number; probe: (edge: "start" | "end") => void }
): Promise<Window> => {
  const interval = 1000 / options.rate
  const t0 = performance.now()
  let sent = 0
  let start = 0
  let stopAt = Number.POSITIVE_INFINITY
  let phase: "warmup" | "measure" | "done" = "warmup"
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now()
      if (phase === "warmup" && now - t0 >= options.warmupMs) {
        phase = "measure"
        options.probe("start")
        meter.from = now
        meter.recording = true
        start = now
        stopAt = now + options.measureMs
      }
      for (;;) {
        const due = t0 + sent * interval
        if (due > now || due >= stopAt) break
        ;(connections[sent % connections.length] as Connection).send(due)
        sent++
      }
      if (now >= stopAt) {
        phase = "done"
        return resolve()
      }
      setTimeout(tick, 1)
    }
    tick()
  })
  // Echoes of messages sent inside the window still count: wait for them before closing the window.
  const drained = await waitUntil(() => connections.every((c) => c.inFlight === 0), 10_000)
  meter.recording = false
  const seconds = (stopAt - start) / 1000
  options.probe("end")
  const lost = drained ? 0 : connections.reduce((n, c) => n + c.inFlight, 0)
  return { seconds, received: meter.received, mismatches: meter.mismatches, latency: meter.latency, lost }
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
