// Keep-alive HTTP/1.1 GETs over raw `node:net` sockets: a pre-encoded request, a minimal response parser, and
// a check of every response's status, content type and body. Far cheaper per request than node:http, so the
// client stays out of the way of the server it measures.
import { connect, type Socket } from "node:net"
import { performance } from "node:perf_hooks"
import { type Histogram, histogram } from "./client.js"

/** What one request asks for and the response it must get, exactly. */
export interface Expected {
  readonly path: string
  readonly status: number
  readonly body: string
  /** The content type must start with this. */
  readonly contentType: string
}

interface Parsed {
  readonly status: number
  readonly contentType: string
  readonly body: Buffer
  readonly close: boolean
}

/** Parses one response from the front of `data`; undefined while it is incomplete. */
const parse = (data: Buffer): { response: Parsed; used: number } | undefined => {
  const end = data.indexOf("\r\n\r\n")
  if (end < 0) return undefined
  const lines = data.subarray(0, end).toString("latin1").split("\r\n")
  const status = Number((lines[0] ?? "").split(" ")[1])
  const headers = new Map<string, string>()
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":")
    if (colon > 0) headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim())
  }
  const start = end + 4
  const close = headers.get("connection")?.toLowerCase() === "close"
  const contentType = headers.get("content-type") ?? ""
  if (headers.get("transfer-encoding")?.toLowerCase().includes("chunked")) {
    const parts: Buffer[] = []
    let at = start
    for (;;) {
      const lineEnd = data.indexOf("\r\n", at)
      if (lineEnd < 0) return undefined
      const size = Number.parseInt(data.subarray(at, lineEnd).toString("latin1"), 16)
      if (size === 0) {
        // The last chunk, then (no trailers) the empty line.
        if (data.length < lineEnd + 4) return undefined
        return { response: { status, contentType, body: Buffer.concat(parts), close }, used: lineEnd + 4 }
      }
      if (data.length < lineEnd + 2 + size + 2) return undefined
      parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size))
      at = lineEnd + 2 + size + 2
    }
  }
  const length = Number(headers.get("content-length") ?? 0)
  if (data.length < start + length) return undefined
  return { response: { status, contentType, body: data.subarray(start, start + length), close }, used: start + length }
}

/** One keep-alive connection; requests go one at a time. */
class KeepAlive {
  private socket: Socket | undefined
  private pending: Buffer = Buffer.alloc(0)
  private waiting: ((response: Parsed | Error) => void) | undefined

  constructor(private readonly port: number) {}

  private connect(): Promise<Socket> {
    if (this.socket !== undefined && !this.socket.destroyed) return Promise.resolve(this.socket)
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port: this.port, noDelay: true })
      socket.once("error", reject)
      socket.once("connect", () => {
        socket.off("error", reject)
        socket.on("error", (error) => this.fail(error))
        socket.on("close", () => this.fail(new Error("connection closed")))
        socket.on("data", (chunk: Buffer) => this.onData(chunk))
        this.socket = socket
        this.pending = Buffer.alloc(0)
        resolve(socket)
      })
    })
  }

  private fail(error: Error) {
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.(error)
  }

  private onData(chunk: Buffer) {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk])
    const parsed = parse(this.pending)
    if (parsed === undefined) return
    this.pending = this.pending.subarray(parsed.used)
    if (parsed.response.close) this.socket?.end()
    const waiting = this.waiting
    this.waiting = undefined
    waiting?.(parsed.response)
  }

  /** Sends one request and resolves with its response (or an error: closed, timed out). */
  async request(bytes: Buffer, timeoutMs: number): Promise<Parsed> {
    const socket = await this.connect()
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting = undefined
        socket.destroy()
        reject(new Error(`no response within ${timeoutMs} ms`))
      }, timeoutMs)
      this.waiting = (response) => {
        clearTimeout(timer)
        if (response instanceof Error) reject(response)
        else resolve(response)
      }
      socket.write(bytes)
    })
  }

  close() {
    this.socket?.destroy()
  }
}

/** What one batch of requests gave. */
export interface RequestWindow {
  readonly seconds: number
  readonly ok: number
  /** Wrong status, content type or body, or no response. */
  readonly failures: number
  readonly firstFailure: string | undefined
  readonly latency: Histogram
}

/** `connections` keep-alive connections to one server. */
export const keepAliveClients = (port: number, connections: number) => {
  const clients = Array.from({ length: connections }, () => new KeepAlive(port))
  /** Sends `count` requests for `expected`, one in flight per connection, and checks every response. */
  const run = async (expected: Expected, count: number, timeoutMs = 10_000): Promise<RequestWindow> => {
    const bytes = Buffer.from(`GET ${expected.path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`)
    const want = Buffer.from(expected.body)
    const latency = histogram()
    let issued = 0
    let ok = 0
    let failures = 0
    let firstFailure: string | undefined
    const start = performance.now()
    await Promise.all(
      clients.map(async (client) => {
        while (issued < count) {
          issued++
          const sent = performance.now()
          try {
            const response = await client.request(bytes, timeoutMs)
            latency.recordValue(Math.max(1, Math.round((performance.now() - sent) * 1000)))
            if (
              response.status === expected.status &&
              response.contentType.startsWith(expected.contentType) &&
              response.body.equals(want)
            ) {
              ok++
              continue
            }
            firstFailure ??= `${expected.path}: ${response.status} ${response.contentType} ${response.body.toString()}`
          } catch (error) {
            firstFailure ??= `${expected.path}: ${error instanceof Error ? error.message : String(error)}`
          }
          failures++
        }
      })
    )
    return { seconds: (performance.now() - start) / 1000, ok, failures, firstFailure, latency }
  }
  const close = () => {
    for (const client of clients) client.close()
  }
  return { run, close }
}
