import { DurableObject } from "cloudflare:workers"
import * as Effect from "effect/Effect"
import { ABNORMAL_CLOSURE, type CloseFrame, closeReply, invalidCloseCode } from "../domain/CloseFrame.js"
import { errorResponse, RoomFull } from "../domain/HttpError.js"
import { idleRemainingMs, idleTimeout } from "../domain/IdleTimeout.js"
import { type Message, prefixMessage } from "../domain/Message.js"
import { connectionInfo } from "../domain/RequestInfo.js"
import { closeAfterEchoes } from "../domain/Scenario.js"
import { admit, countSent, statsOf } from "../domain/Traffic.js"
import {
  acceptInRoom,
  BROADCAST,
  planOf,
  type RoomBehaviour,
  type RoomSocket,
  type SocketPlan
} from "../services/EchoRooms.js"
import { AppRuntime } from "./AppRuntime.js"
import { connectionEnded, limitReply } from "./Echo.js"

const WEBSOCKET_OPEN = 1
const WEBSOCKET_CLOSED = 3

/** How long a changed attachment waits to be written, with every other change of that time. */
const FLUSH_MS = 1_000

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
  /** The attachments this instance has read or written: a cache, the attachment stays the truth. */
  private readonly sockets = new WeakMap<WebSocket, RoomSocket>()
  /** When the alarm is due, as this instance last set or read it (null: none); unknown until then. */
  private alarmAt: number | null | undefined
  /** The sockets whose attachment changed since it was last written. */
  private readonly dirty = new Set<WebSocket>()
  private flushing: ReturnType<typeof setTimeout> | undefined

  override async fetch(request: Request): Promise<Response> {
    const now = Date.now()
    const plan = planOf(request)
    if (plan.room !== undefined && this.ctx.getWebSockets().length >= plan.maxSockets) {
      return errorResponse(new RoomFull({ room: plan.room, limit: plan.maxSockets }))
    }
    const { response, server, socket } = acceptInRoom(this.ctx, plan, now)
    this.sockets.set(server, socket)
    const behaviour = socket.behaviour
    // The text message "ping" is answered by the runtime exactly as the echo would, without waking the object;
    // the answer is the object's, so it is off while a socket of the room has behaviours (it would not stall).
    if (behaviour === null && this.ctx.getWebSockets().every((ws) => this.behaviourOf(ws) === null)) {
      this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", `${socket.prefix}ping`))
    } else if (behaviour !== null) {
      this.ctx.setWebSocketAutoResponse()
      this.open(server, socket, behaviour, plan)
    }
    const due = Math.min(
      socket.idleTimeoutMs > 0 ? now + socket.idleTimeoutMs : Number.POSITIVE_INFINITY,
      dueOf(behaviour)
    )
    // An object of its own (no room) is new: it has no alarm yet, and one storage call sets it.
    if (plan.room === undefined) this.alarmAt ??= null
    if (due < Number.POSITIVE_INFINITY) await this.alarmBy(due)
    return response
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> | undefined {
    const socket = this.socketOf(ws)
    const now = Date.now()
    const exceeded = admit(socket.traffic, socket.limits, message, now)
    if (exceeded !== undefined) return this.end(ws, socket, undefined, limitReply(exceeded), true)
    const reply = prefixMessage(socket.prefix)(message)
    const behaviour = socket.behaviour
    if (behaviour === null) {
      ws.send(reply)
      countSent(socket.traffic, reply, now)
    } else if (behaviour.broadcast) {
      for (const peer of this.ctx.getWebSockets(BROADCAST)) {
        if (peer === ws) continue
        const other = this.socketOf(peer)
        this.deliver(peer, other, reply)
        this.save(peer)
      }
      this.deliver(ws, socket, reply)
    } else {
      this.deliver(ws, socket, reply)
    }
    this.save(ws)
    return undefined
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string): Promise<void> | undefined {
    const socket = this.socketOf(ws)
    // The peer's answer to a close this object sent: the connection has ended and was logged already.
    if (socket.ended) return undefined
    const peer = { code, reason }
    const behaviour = socket.behaviour
    // A stalled socket leaves the peer's close unanswered until its idle timeout. The runtime no longer lists a
    // socket once its close was delivered, so the alarm cannot find it: a timer ends it, and keeps the object
    // awake until then.
    if (behaviour?.stall === true) {
      const remaining = idleRemainingMs(socket.traffic.lastActivity, Date.now(), socket.idleTimeoutMs)
      setTimeout(() => void this.end(ws, socket, undefined, idleTimeout, true), Math.max(0, remaining))
      return undefined
    }
    // A drop and a 1006 on the wire keep their 1002 until this object steps ConnectionMachine (wasClean tells them apart).
    return this.end(ws, socket, peer, closeReply(peer) ?? invalidCloseCode, true)
  }

  /** The runtime failed the socket (a protocol error, a lost peer) and sent its own close: log how it ended. */
  override webSocketError(ws: WebSocket): Promise<void> | undefined {
    const socket = this.socketOf(ws)
    if (socket.ended) return undefined
    const peer = { code: ABNORMAL_CLOSURE, reason: "" }
    return this.end(ws, socket, peer, closeReply(peer) ?? invalidCloseCode, false)
  }

  /**
   * Sends the pushes and the timed closes that are due, closes the sockets silent for their idle timeout with
   * 1001, and sets the alarm for the next of these. One alarm serves every socket of the object: unlike a
   * timer, a pending alarm lets the object hibernate.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null
    const now = Date.now()
    let next = Number.POSITIVE_INFINITY
    const ending: Array<Promise<void>> = []
    for (const ws of this.ctx.getWebSockets()) {
      const socket = this.socketOf(ws)
      // A socket that has ended, or that the runtime failed, is not closed again.
      if (socket.ended || ws.readyState === WEBSOCKET_CLOSED) continue
      const behaviour = socket.behaviour
      if (behaviour !== null) {
        this.runDue(ws, socket, behaviour, now)
        next = Math.min(next, dueOf(behaviour))
      }
      if (socket.idleTimeoutMs === 0) continue
      // A "ping" answered by the runtime is activity too, though the object never saw it.
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)?.getTime() ?? 0
      const remaining = idleRemainingMs(Math.max(socket.traffic.lastActivity, pinged), now, socket.idleTimeoutMs)
      if (remaining <= 0) {
        ending.push(this.end(ws, socket, undefined, idleTimeout, true))
      } else next = Math.min(next, now + remaining)
    }
    await Promise.all(ending)
    if (next < Number.POSITIVE_INFINITY) await this.alarmBy(next)
  }

  /**
   * Marks a socket's attachment as changed; every changed attachment is written once, `FLUSH_MS` later. An
   * object with a pending timer does not hibernate (Cloudflare's "Lifecycle of a Durable Object": hibernation
   * needs no `setTimeout`/`setInterval` callbacks set), so the attachments are written before it can be.
   * What an eviction without hibernation (a crash, a restart) loses is written down in docs/robustness.md.
   */
  private save(ws: WebSocket): void {
    this.dirty.add(ws)
    this.flushing ??= setTimeout(() => this.flush(), FLUSH_MS)
  }

  private flush(): void {
    this.flushing = undefined
    for (const ws of this.dirty) {
      const socket = this.sockets.get(ws)
      // An ended socket's attachment was written when it ended; it may be closed by now.
      if (socket !== undefined && !socket.ended) ws.serializeAttachment(socket)
    }
    this.dirty.clear()
  }

  /** Sets the alarm for `due` unless it is already due by then: one storage call when the cache knows. */
  private async alarmBy(due: number): Promise<void> {
    if (this.alarmAt === undefined) this.alarmAt = await this.ctx.storage.getAlarm()
    if (this.alarmAt !== null && this.alarmAt <= due) return
    this.alarmAt = due
    await this.ctx.storage.setAlarm(due)
  }

  /** Sends what opens a socket with behaviours: its info, its greeting, and a close asked for at once. */
  private open(ws: WebSocket, socket: RoomSocket, behaviour: RoomBehaviour, { info, scenario }: SocketPlan): void {
    if (behaviour.stall) return
    const now = Date.now()
    if (info !== undefined) {
      this.send(ws, socket, connectionInfo(info, socket.protocol, socket.id), now)
    }
    if (scenario?.greeting !== undefined) this.send(ws, socket, scenario.greeting, now)
    if (behaviour.close !== undefined && closeAfterEchoes(behaviour.close) === 0) this.sendClose(ws, behaviour)
    this.save(ws)
  }

  /**
   * The pushes and the timed close of a socket that are due at `now`, in the order they were due: an alarm that
   * comes late (a busy object) sends the pushes that were due before the close, then the close.
   */
  private runDue(ws: WebSocket, socket: RoomSocket, behaviour: RoomBehaviour, now: number): void {
    if (behaviour.stall || behaviour.closeSent !== undefined) return
    const closeAt = behaviour.closeAt > 0 ? behaviour.closeAt : Number.POSITIVE_INFINITY
    const push = behaviour.push
    let changed = false
    while (push !== undefined && behaviour.pushAt > 0 && behaviour.pushAt <= Math.min(now, closeAt)) {
      this.send(ws, socket, push.text, now)
      behaviour.pushesLeft--
      behaviour.pushAt = behaviour.pushesLeft > 0 ? behaviour.pushAt + push.everyMs : 0
      changed = true
    }
    if (closeAt <= now) {
      this.sendClose(ws, behaviour)
      changed = true
    }
    if (changed) this.save(ws)
  }

  /** An echo for a socket with behaviours, after its `delay_ms` (a timer: it keeps the object awake ≤ 10 s). */
  private deliver(ws: WebSocket, socket: RoomSocket, reply: Message): void {
    const behaviour = socket.behaviour
    if (behaviour === null || behaviour.stall) return
    if (behaviour.delayMs === 0) this.echo(ws, socket, behaviour, reply)
    else {
      setTimeout(() => {
        this.echo(ws, socket, behaviour, reply)
        this.save(ws)
      }, behaviour.delayMs)
    }
  }

  /** Sends an echo, counted for `close_after`: the close goes out after the last echo asked for. */
  private echo(ws: WebSocket, socket: RoomSocket, behaviour: RoomBehaviour, reply: Message): void {
    if (socket.ended || behaviour.closeSent !== undefined || ws.readyState !== WEBSOCKET_OPEN) return
    this.send(ws, socket, reply, Date.now())
    behaviour.echoes++
    if (behaviour.close !== undefined && behaviour.echoes === closeAfterEchoes(behaviour.close)) {
      this.sendClose(ws, behaviour)
    }
  }

  private send(ws: WebSocket, socket: RoomSocket, message: Message, now: number): void {
    ws.send(message)
    countSent(socket.traffic, message, now)
  }

  /** Starts the closing handshake asked for; the connection ends (and is logged) when the peer answers. */
  private sendClose(ws: WebSocket, behaviour: RoomBehaviour): void {
    if (behaviour.close === undefined) return
    behaviour.closeSent = behaviour.close.frame
    ws.close(behaviour.close.frame.code, behaviour.close.frame.reason)
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

  /** A socket's behaviours, without counting a wake for it. */
  private behaviourOf(ws: WebSocket): RoomBehaviour | null {
    return (this.sockets.get(ws) ?? (ws.deserializeAttachment() as RoomSocket)).behaviour
  }

  /**
   * Marks the socket ended in its attachment, sends or answers the close frame when `close` (not when the
   * runtime already failed the socket), and writes the connection's log line. A socket that was sent a close on
   * request ends with that close: it is not sent again, and the log line names it.
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
          if (close && socket.behaviour?.closeSent === undefined) ws.close(reply.code, reply.reason)
        }),
        connectionEnded({
          connection: socket.id,
          protocol: socket.protocol,
          durationMs: Date.now() - socket.openedAt,
          stats: statsOf(socket.traffic),
          peer,
          reply: socket.behaviour?.closeSent ?? reply,
          extra:
            socket.behaviour === null
              ? { wakes: socket.wakes }
              : { wakes: socket.wakes, behaviours: socket.behaviour.behaviours }
        })
      ).pipe(Effect.catchAllCause((cause) => Effect.logError("echo failed", cause)))
    )
  }
}

/** When a socket's next push or timed close is due; infinity for none. */
const dueOf = (behaviour: RoomBehaviour | null): number => {
  if (behaviour === null || behaviour.stall || behaviour.closeSent !== undefined) return Number.POSITIVE_INFINITY
  return Math.min(behaviour.pushAt || Number.POSITIVE_INFINITY, behaviour.closeAt || Number.POSITIVE_INFINITY)
}
