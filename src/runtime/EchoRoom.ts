import { DurableObject } from "cloudflare:workers"
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import {
  type ConnectionAttachment,
  type ConnectionConfig,
  type ConnectionMachine,
  carried,
  connectionConfig,
  deliver,
  fail,
  noteActivity,
  type Output,
  open,
  peerClose,
  receive,
  resume,
  tick,
  transportLost
} from "../domain/ConnectionMachine.js"
import { errorResponse, InternalError, RoomFull } from "../domain/HttpError.js"
import type { Message } from "../domain/Message.js"
import { connectionInfo } from "../domain/RequestInfo.js"
import { noScenario } from "../domain/Scenario.js"
import { type AttachmentProblem, acceptInRoom, attachmentOf, BROADCAST, planOf } from "../services/EchoRooms.js"
import { AppRuntime } from "./AppRuntime.js"
import { logEnded } from "./Echo.js"

const WEBSOCKET_CLOSED = 3

/** How long a changed attachment waits to be written, with every other change of that time. */
const FLUSH_MS = 1_000

/** A socket this instance drives: its attachment, and the machine whose state is the attachment's `state`. */
interface RoomConnection {
  readonly attachment: ConnectionAttachment
  readonly machine: ConnectionMachine
}

/** One input of the machine, in the shape every step shares: the input (nothing for time alone), then `now`. */
type Step<A> = (machine: ConnectionMachine, config: ConnectionConfig, input: A, now: number) => Output

const tickStep: Step<undefined> = (machine, config, _, now) => tick(machine, config, now)
const transportLostStep: Step<undefined> = (machine, config, _, now) => transportLost(machine, config, now)

/**
 * The echo as a hibernating Durable Object (`ECHO_BACKEND = "durable-object"`, and every broadcast): a driver
 * of `ConnectionMachine`, which holds every rule of a connection. The Worker checks each upgrade and sends it here
 * with its plan; the runtime keeps the sockets open while the object is evicted and constructs it again for the
 * next event. So a socket's machine state, with its config, is its attachment (`ConnectionAttachment`), and the
 * object only carries out what each step asks: each runtime event is one step of the socket's machine, its
 * messages are sent in order, then its close frame, and the step that ends the connection writes its one log line.
 * Time is an alarm for the room's earliest wake; what lives in this instance's memory alone (delayed echoes, and
 * an answer owed to a peer whose close the runtime has delivered) wakes by a timer, which keeps the object awake.
 *
 * @example
 * ```ts
 * // The Worker's module exports the class, which wrangler.toml binds and migrates:
 * //   [[durable_objects.bindings]]  name = "ECHO_ROOMS", class_name = "EchoRoom"
 * //   [[migrations]]                tag = "v1", new_sqlite_classes = ["EchoRoom"]
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { EchoRooms } from "websocket-echo/EchoRooms"
 * import { EchoConfig, EchoRouter } from "websocket-echo/EchoServer"
 * import { toFetchHandler, WorkerEnv } from "websocket-echo/Workers"
 *
 * export { EchoRoom } from "websocket-echo/EchoRooms"
 *
 * const Rooms = Layer.unwrapEffect(Effect.map(WorkerEnv, (env) => EchoRooms.layer(env.ECHO_ROOMS)))
 *
 * export default toFetchHandler(EchoRouter, Layer.merge(EchoConfig.layerWith({ backend: "durable-object" }), Rooms))
 * ```
 *
 * @since 2.0.0
 */
export class EchoRoom extends DurableObject<Env> {
  /** The sockets this instance drives (null: one it refused or gave up on): a cache, the attachment stays the truth. */
  private readonly connections = new WeakMap<WebSocket, RoomConnection | null>()
  /** When the alarm is due, as this instance last set or read it (null: none); unknown until then. */
  private alarmAt: number | null | undefined
  private readingAlarm: Promise<void> | undefined
  /** The sockets whose attachment changed since it was last written. */
  private readonly dirty = new Set<WebSocket>()
  private flushing: ReturnType<typeof setTimeout> | undefined
  /**
   * The sockets that only this instance can wake: those with delayed echoes in its memory, and those answering a
   * close the runtime has delivered (it no longer lists them, so the alarm cannot find them).
   */
  private readonly awake = new Set<WebSocket>()
  private timer: ReturnType<typeof setTimeout> | undefined
  private timerAt = Number.POSITIVE_INFINITY
  /** The earliest alarm the current event's steps asked for, and the log lines it started: taken by `settle`. */
  private alarmWanted = Number.POSITIVE_INFINITY
  private readonly writing: Array<Promise<void>> = []

  override async fetch(request: Request): Promise<Response> {
    const plan = planOf(request)
    if (plan.room !== undefined && this.ctx.getWebSockets().length >= plan.maxSockets) {
      return errorResponse(new RoomFull({ room: plan.room, limit: plan.maxSockets }))
    }
    const scenario = plan.scenario ?? noScenario
    const config = connectionConfig(plan, scenario)
    const id = crypto.randomUUID()
    const info = plan.info === undefined ? undefined : connectionInfo(plan.info, plan.protocol, id)
    const machine = open(config, Date.now(), { info, greeting: scenario.greeting })
    const attachment: ConnectionAttachment = {
      id,
      protocol: plan.protocol ?? null,
      wakes: 0,
      behaviours: scenario.behaviours,
      config,
      state: machine.state
    }
    let accepted: ReturnType<typeof acceptInRoom>
    try {
      accepted = acceptInRoom(this.ctx, attachment)
    } catch (cause) {
      // Nothing was accepted: the attachment is written before the socket becomes the room's.
      await this.log(Effect.logError("room refused an upgrade: its attachment could not be written", Cause.die(cause)))
      return errorResponse(new InternalError())
    }
    const { server, response } = accepted
    const connection: RoomConnection = { attachment, machine }
    this.connections.set(server, connection)
    this.answerPings(server, attachment)
    // An object of its own (no room) is new: it has no alarm yet, and one storage call sets it.
    if (plan.room === undefined) this.alarmAt ??= null
    try {
      // The attachment was written with the state `open` left (its opening messages counted): nothing to save.
      this.carryOut(server, connection, machine.out, true)
    } catch (cause) {
      this.abandon(server, connection, cause)
    }
    await this.settle()
    return response
  }

  override webSocketMessage(ws: WebSocket, message: string | ArrayBuffer): Promise<void> | undefined {
    const connection = this.connectionOf(ws)
    if (connection !== undefined) {
      this.drive(ws, connection, receive, message)
      // The output stays the machine's until its next step.
      const relay = connection.machine.out.relay
      if (relay !== null) this.relay(ws, relay)
    }
    return this.settle()
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean): Promise<void> | undefined {
    const connection = this.connectionOf(ws)
    if (connection !== undefined) this.drive(ws, connection, peerClose, { code, reason, wasClean })
    return this.settle()
  }

  /** The runtime failed the socket (a protocol error, a lost peer): it ends with no close frame attempted. */
  override webSocketError(ws: WebSocket, _error: unknown): Promise<void> | undefined {
    const connection = this.connectionOf(ws)
    if (connection !== undefined) this.drive(ws, connection, transportLostStep, undefined)
    return this.settle()
  }

  /**
   * Time passing for every socket the runtime lists, with the runtime's own answers to "ping" as activity; then the
   * alarm is set for the room's earliest wake. One alarm serves every socket of the object: unlike a timer, a
   * pending alarm lets the object hibernate.
   */
  override async alarm(): Promise<void> {
    this.alarmAt = null
    for (const ws of this.ctx.getWebSockets()) {
      // A socket the runtime has closed or failed gets an event of its own.
      if (ws.readyState === WEBSOCKET_CLOSED) continue
      const connection = this.connectionOf(ws)
      if (connection === undefined) continue
      const pinged = this.ctx.getWebSocketAutoResponseTimestamp(ws)
      if (pinged === null) this.drive(ws, connection, tickStep, undefined)
      else this.drive(ws, connection, noteActivity, pinged.getTime())
    }
    await this.settle()
  }

  /**
   * Where a room's log lines go: the isolate's runtime. The workerd tests read them from a subclass, in an instance
   * they construct as the runtime would after hibernation.
   */
  protected log(line: Effect.Effect<void>): Promise<void> {
    return AppRuntime.runPromise(line)
  }

  /** One step of a socket's machine, carried out. A step that throws ends that socket alone (`abandon`). */
  private drive<A>(ws: WebSocket, connection: RoomConnection, step: Step<A>, input: A): void {
    try {
      this.carryOut(ws, connection, step(connection.machine, connection.attachment.config, input, Date.now()))
    } catch (cause) {
      this.abandon(ws, connection, cause)
    }
  }

  /**
   * What a step asks, in order: its messages, then its close frame; the wake it needs (this instance's timer, or
   * the alarm); then, for the step that ended the connection, its attachment written at once and its one log line,
   * and otherwise its attachment marked changed (unless it was just `written`).
   */
  private carryOut(ws: WebSocket, { attachment, machine }: RoomConnection, out: Output, written = false): void {
    const send = out.send
    for (let i = 0; i < send.length; i++) ws.send(send[i] as Message)
    carried(out)
    if (out.close !== null) ws.close(out.close.code, out.close.reason)
    const at = out.nextWakeAt
    if (at !== null && (machine.delayed.length > 0 || machine.state.phase === "answering")) {
      this.awake.add(ws)
      this.wakeBy(at)
    } else {
      if (this.awake.size > 0) this.awake.delete(ws)
      if (at !== null && at < this.alarmWanted) this.alarmWanted = at
    }
    const end = out.ended
    if (end === null) {
      if (!written) this.save(ws)
    } else {
      this.dirty.delete(ws)
      ws.serializeAttachment(attachment)
      const { id, protocol, wakes, behaviours } = attachment
      // The behaviours' names as the Worker's shapes log them: only when there are some.
      const extra = behaviours.length === 0 ? { wakes } : { wakes, behaviours }
      this.writing.push(this.log(logEnded(end, id, protocol ?? undefined, extra)))
    }
  }

  /** A broadcast socket's echo, for every other broadcast socket of the room. */
  private relay(from: WebSocket, message: Message): void {
    for (const peer of this.ctx.getWebSockets(BROADCAST)) {
      if (peer === from) continue
      const connection = this.connectionOf(peer)
      if (connection !== undefined) this.drive(peer, connection, deliver, message)
    }
  }

  /**
   * The socket's connection while it has not ended. The first read of its attachment in an instance means the
   * object was woken for it. A socket whose attachment is missing or not ours is refused: closed with 1011 and
   * logged, and never driven.
   */
  private connectionOf(ws: WebSocket): RoomConnection | undefined {
    let connection = this.connections.get(ws)
    if (connection === undefined) {
      const attachment = attachmentOf(ws)
      if (typeof attachment === "string") {
        this.refuse(ws, attachment)
        return undefined
      }
      attachment.wakes++
      connection = { attachment, machine: resume(attachment.state) }
      this.connections.set(ws, connection)
    }
    return live(connection)
  }

  /** How many behaviours a socket has, without counting a wake for it; a refused socket has none. */
  private behavioursOf(ws: WebSocket): number {
    const known = this.connections.get(ws)
    if (known !== undefined) return known === null ? 0 : known.attachment.behaviours.length
    const attachment = attachmentOf(ws)
    if (typeof attachment !== "string") return attachment.behaviours.length
    this.refuse(ws, attachment)
    return 0
  }

  /**
   * The text message "ping" is answered by the runtime exactly as the echo would, without waking the object; the
   * answer is the object's, so it is off while a socket of the room has behaviours (it would not stall or delay).
   */
  private answerPings(server: WebSocket, attachment: ConnectionAttachment): void {
    if (attachment.behaviours.length > 0) {
      this.ctx.setWebSocketAutoResponse()
    } else if (this.ctx.getWebSockets().every((ws) => ws === server || this.behavioursOf(ws) === 0)) {
      const prefix = attachment.config.prefix ?? ""
      this.ctx.setWebSocketAutoResponse(new WebSocketRequestResponsePair("ping", `${prefix}ping`))
    }
  }

  /** A socket this room cannot drive: closed with 1011 and logged, once per instance. */
  private refuse(ws: WebSocket, problem: AttachmentProblem): void {
    this.drop(ws)
    const line = Effect.logError("room socket without an attachment of ours, closed with 1011").pipe(
      Effect.annotateLogs({ attachment: problem, closeCode: 1011 })
    )
    this.writing.push(this.log(line))
  }

  /**
   * A step of this socket threw: the machine fails it (1011 unless a close frame was sent, its log line); if even
   * that throws, the socket is dropped with 1011. The room's other sockets are not touched.
   */
  private abandon(ws: WebSocket, connection: RoomConnection, cause: unknown): void {
    this.writing.push(this.log(Effect.logError("echo failed", Cause.die(cause))))
    try {
      this.carryOut(ws, connection, fail(connection.machine, connection.attachment.config, Date.now()))
    } catch {
      this.drop(ws)
    }
  }

  /** Stops driving a socket, and closes it with 1011 unless the runtime has closed or failed it already. */
  private drop(ws: WebSocket): void {
    this.connections.set(ws, null)
    this.awake.delete(ws)
    this.dirty.delete(ws)
    if (ws.readyState === WEBSOCKET_CLOSED) return
    try {
      ws.close(1011, "internal error")
    } catch {
      // A socket the runtime failed refuses a close: there is nobody to send it to.
    }
  }

  /**
   * What the current event leaves for the runtime to wait for: the alarm its steps asked for (one storage call at
   * most, none when the alarm is due by then) and its log lines. Called once at the end of every event.
   */
  private settle(): Promise<void> | undefined {
    const at = this.alarmWanted
    this.alarmWanted = Number.POSITIVE_INFINITY
    if (at < Number.POSITIVE_INFINITY) {
      const alarm = this.alarmBy(at)
      if (alarm !== undefined) this.writing.push(alarm)
    }
    if (this.writing.length === 0) return undefined
    return Promise.all(this.writing.splice(0)).then(() => undefined)
  }

  /**
   * Sets the alarm for `due` unless it is already due by then: no storage call when the cache knows it is, one
   * otherwise. A new instance reads the stored alarm once, however many events ask before the read is back.
   */
  private alarmBy(due: number): Promise<void> | undefined {
    if (this.alarmAt === undefined) {
      this.readingAlarm ??= this.ctx.storage.getAlarm().then((stored) => {
        if (this.alarmAt === undefined) this.alarmAt = stored
      })
      return this.readingAlarm.then(() => this.alarmBy(due))
    }
    if (this.alarmAt !== null && this.alarmAt <= due) return undefined
    this.alarmAt = due
    return this.ctx.storage.setAlarm(due)
  }

  /**
   * Wakes this instance at `at` for the sockets only it can wake. One timer serves them all; while it is pending
   * the object stays in memory (at most `delay_ms`, 10 s, for delayed echoes; up to the idle timeout for a stalled
   * socket's owed answer).
   */
  private wakeBy(at: number): void {
    if (this.timer !== undefined && this.timerAt <= at) return
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timerAt = at
    this.timer = setTimeout(() => this.wake(), Math.max(0, at - Date.now()))
  }

  private wake(): void {
    this.timer = undefined
    this.timerAt = Number.POSITIVE_INFINITY
    for (const ws of [...this.awake]) {
      const connection = live(this.connections.get(ws))
      if (connection === undefined) this.awake.delete(ws)
      else this.drive(ws, connection, tickStep, undefined)
    }
    this.settleLater()
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
      // An ended socket's attachment was written when it ended.
      const connection = live(this.connections.get(ws))
      if (connection === undefined) continue
      try {
        ws.serializeAttachment(connection.attachment)
      } catch (cause) {
        this.abandon(ws, connection, cause)
      }
    }
    this.dirty.clear()
    this.settleLater()
  }

  /** `settle` for a timer's callback, which has no event to hand its work to. */
  private settleLater(): void {
    const work = this.settle()
    if (work !== undefined) this.ctx.waitUntil(work)
  }
}

/** A connection this instance drives: none for a socket it has not read, has refused (null) or that has ended. */
const live = (connection: RoomConnection | null | undefined): RoomConnection | undefined =>
  connection === undefined || connection === null || connection.machine.state.phase === "ended" ? undefined : connection
