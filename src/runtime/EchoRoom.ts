import { DurableObject } from "cloudflare:workers"
import * as Effect from "effect/Effect"
import { ABNORMAL_CLOSURE, type CloseFrame, closeReply } from "../domain/CloseFrame.js"
import { idleRemainingMs, idleTimeout } from "../domain/IdleTimeout.js"
import { type Message, prefixMessage } from "../domain/Message.js"
import { admit, countSent, statsOf } from "../domain/Traffic.js"
import { acceptInRoom, type RoomSocket } from "../services/EchoRooms.js"
import { AppRuntime } from "./AppRuntime.js"
import { connectionEnded, limitReply } from "./Echo.js"

const WEBSOCKET_OPEN = 1

/**
 * The echo as a hibernating Durable Object (`ECHO_BACKEND = "durable-object"`).
 * The Worker checks each upgrade and sends it here with its plan; the runtime
 * keeps the sockets open while the object is evicted, and constructs it again
 * for the next event. So nothing about a socket lives in this object: its
 * plan, traffic and rate-limit bucket are its attachment, and the idle timeout
 * is an alarm. Each message goes through the handler of the handler pipeline,
 * synchronously, with the same admission rule; ending a connection (a close, an
 * error, a limit, the idle alarm) is an Effect program that writes the one log
 * line of the connection.
 */
export class EchoRoom extends DurableObject<Env> {
  /** The echo transform of each prefix: built once per instance, never per message. */
  private readonly transforms = new Map<string, (message: Message) => Message>()
  /** The attachments this instance has read or written: a cache, the attachment stays the truth. */
  private readonly sockets = new WeakMap<WebSocket, RoomSocket>()

  override async fetch(request: Request): Promise<Response> {
    const now = Date.now()
    const { response, server, socket } = acceptInRoom(this.ctx, request, now)
    this.sockets.set(server, socket)
    // The text message "ping" is answered by the runtime exactly as the echo would, without waking the object.
    this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", `${socket.prefix}ping`))
    if (socket.idleTimeoutMs > 0) {
      const alarm = await this.ctx.storage.getAlarm()
      const due = now + socket.idleTimeoutMs
      if (alarm === null || alarm > due) await this.ctx.storage.setAlarm(due)
    }
    return response
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> | undefined {
    const socket = this.socketOf(ws)
    const now = Date.now()
    const exceeded = admit(socket.traffic, socket.limits, message, now)
    if (exceeded !== undefined) return this.end(ws, socket, undefined, limitReply(exceeded), true)
    const reply = this.transform(socket.prefix)(message)
    ws.send(reply)
    countSent(socket.traffic, reply, now)
    ws.serializeAttachment(socket)
    return undefined
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> | undefined {
    const socket = this.socketOf(ws)
    // The peer's answer to a close this object sent: the connection has ended and was logged already.
    if (socket.ended) return undefined
    const peer = { code, reason }
    return this.end(ws, socket, peer, closeReply(peer), true)
  }

  /** The runtime failed the socket (a protocol error, a lost peer) and sent its own close: log how it ended. */
  override webSocketError(ws: WebSocket): Promise<void> | undefined {
    const socket = this.socketOf(ws)
    if (socket.ended) return undefined
    const peer = { code: ABNORMAL_CLOSURE, reason: "" }
    return this.end(ws, socket, peer, closeReply(peer), false)
  }

  /** Closes the sockets silent for their idle timeout with 1001, and sets the alarm for the next one due. */
  override async alarm(): Promise<void> {
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    const ending: Array<Promise<void>> = []
    for (const ws of this.ctx.getWebSockets()) {
      const socket = this.socketOf(ws)
      // A socket that has ended, or that the runtime failed, is not closed again.
      if (socket.idleTimeoutMs === 0 || socket.ended || ws.readyState !== WEBSOCKET_OPEN) continue
      // A "ping" answered by the runtime is activity too, though the object never saw it.
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0
      const remaining = idleRemainingMs(Math.max(socket.traffic.lastActivity, pinged), now, socket.idleTimeoutMs)
      if (remaining <= 0) ending.push(this.end(ws, socket, undefined, idleTimeout, true))
      else next = Math.min(next, now + remaining)
    }
    await Promise.all(ending)
    if (next < Number.POSITIVE_INFINITY) await this.ctx.storage.setAlarm(next)
  }

  /** A socket's attachment; reading it in a new instance means the object was woken for this socket. */
  private socketOf(ws: WebSocket): RoomSocket {
    const cached = this.sockets.get(ws)
    if (cached !== undefined) return cached
    const socket = ws.deserializeAttachment() as RoomSocket
    socket.wakes++
    this.sockets.set(ws, socket)
    return socket
  }

  private transform(prefix: string): (message: Message) => Message {
    let transform = this.transforms.get(prefix)
    if (transform === undefined) {
      transform = prefixMessage(prefix)
      this.transforms.set(prefix, transform)
    }
    return transform
  }

  /**
   * Marks the socket ended in its attachment, sends or answers the close frame when `close` (not when the
   * runtime already failed the socket), and writes the connection's log line.
   */
  private end(
    ws: WebSocket,
    socket: RoomSocket,
    peer: CloseFrame | undefined,
    reply: CloseFrame,
    close: boolean
  ): Promise<void> {
    return AppRuntime.runPromise(
      Effect.zipRight(
        Effect.sync(() => {
          socket.ended = true
          ws.serializeAttachment(socket)
          if (close) ws.close(reply.code, reply.reason)
        }),
        connectionEnded({
          connection: socket.id,
          protocol: socket.protocol,
          durationMs: Date.now() - socket.openedAt,
          stats: statsOf(socket.traffic),
          peer,
          reply,
          extra: { wakes: socket.wakes }
        })
      ).pipe(Effect.catchAllCause((cause) => Effect.logError("echo failed", cause)))
    )
  }
}
