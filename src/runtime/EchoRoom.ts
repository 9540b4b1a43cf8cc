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
  type Input,
  noteActivity,
  type Output,
  open,
  type PeerClose,
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
import { openEvents, stepEvents } from "../domain/TapEvent.js"
import { type AttachmentProblem, acceptInRoom, attachmentOf, BROADCAST, planOf } from "../services/EchoRooms.js"
import { TapLine, tapObject } from "../services/EchoTaps.js"
import { AppRuntime } from "./AppRuntime.js"
import { logEnded } from "./Echo.js"

const WEBSOCKET_CLOSED = 3

/** How long a changed attachment waits to be written, with every other change of that time. */
const FLUSH_MS = 1_000

/**
 * A socket this instance drives: its attachment, the machine whose state is the attachment's `state`, and for a
 * tapped socket the way of its events to its tap (in this instance's memory; made again after a wake).
 */
interface RoomConnection {
  readonly attachment: ConnectionAttachment
  readonly machine: ConnectionMachine
  readonly tap: TapLine | undefined
}

/**
 * One input of the machine: the step, in the shape every step shares (the input, nothing for time alone, then
 * `now`), and the same input as an `Input`, which only a tapped socket's events are derived from.
 */
interface Step<A> {
  readonly run: (machine: ConnectionMachine, config: ConnectionConfig, input: A, now: number) => Output
  readonly input: (input: A) => Input
}

const onMessage: Step<Message> = { run: receive, input: (message) => ({ _tag: "Message", message }) }
const onDeliver: Step<Message> = { run: deliver, input: (message) => ({ _tag: "Deliver", message }) }
const onClose: Step<PeerClose> = { run: peerClose, input: (frame) => ({ _tag: "PeerClose", ...frame }) }
const onError: Step<undefined> = {
  run: (machine, config, _, now) => transportLost(machine, config, now),
  input: () => ({ _tag: "TransportLost" })
}
const onTick: Step<undefined> = {
  run: (machine, config, _, now) => tick(machine, config, now),
  input: () => ({ _tag: "Tick" })
}
const onActivity: Step<number> = { run: noteActivity, input: (at) => ({ _tag: "Activity", at }) }
const FAIL: Input = { _tag: "Fail" }

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
      ...(plan.tap === undefined ? {} : { tap: { name: plan.tap.name, slot: plan.tap.slot } }),
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
    const connection: RoomConnection = { attachment, machine, tap: this.tapOf(attachment) }
    this.connections.set(server, connection)
    if (connection.tap !== undefined && plan.tap !== undefined) {
      const subject = {
        connection: id,
        protocol: plan.protocol,
        request: plan.tap.request,
        behaviours: scenario.behaviours
      }
      connection.tap.publish(openEvents(subject, machine.out, machine.state.openedAt))
      // Not in `writing`: the 101 does not wait for the tap.
      this.ctx.waitUntil(connection.tap.drained())
    }
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
      this.drive(ws, connection, onMessage, message)
      // The output stays the machine's until its next step.
      const relay = connection.machine.out.relay
      if (relay !== null) this.relay(ws, relay)
    }
    return this.settle()
  }

  override webSocketClose(ws: WebSocket, code: number, reason: string, wasClean: boolean): Promise<void> | undefined {
    const connection = this.connectionOf(ws)
    if (connection !== undefined) this.drive(ws, connection, onClose, { code, reason, wasClean })
    return this.settle()
  }

  /** The runtime failed the socket (a protocol error, a lost peer): it ends with no close frame attempted. */
  override webSocketError(ws: WebSocket, _error: unknown): Promise<void> | undefined {
    const connection = this.connectionOf(ws)
    if (connection !== undefined) this.drive(ws, connection, onError, undefined)
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
      if (pinged === null) this.drive(ws, connection, onTick, undefined)
      else this.drive(ws, connection, onActivity, pinged.getTime())
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

  /**
   * One step of a socket's machine, carried out (a tapped socket's events published first). A step that throws
   * ends that socket alone (`abandon`).
   */
  private drive<A>(ws: WebSocket, connection: RoomConnection, step: Step<A>, input: A): void {
    try {
      const now = Date.now()
      const out = step.run(connection.machine, connection.attachment.config, input, now)
      if (connection.tap !== undefined) this.publish(connection, step.input(input), out, now)
      this.carryOut(ws, connection, out)
    } catch (cause) {
      this.abandon(ws, connection, cause)
    }
  }

  /** A tapped socket's events of one step, to its tap; the event that stepped it waits until they are there. */
  private publish({ attachment, tap }: RoomConnection, input: Input, out: Output, now: number): void {
    if (tap === undefined) return
    const subject = { connection: attachment.id, protocol: attachment.protocol ?? undefined }
    tap.publish(stepEvents(subject, input, out, now, out.ended === null ? undefined : logExtra(attachment)))
    this.writing.push(tap.drained())
  }

  /** The way of a tapped socket's events to its tap; none for an untapped one. */
  private tapOf(attachment: ConnectionAttachment): TapLine | undefined {
    const tap = attachment.tap
    if (tap === undefined) return undefined
    return new TapLine(tapObject(this.env.ECHO_TAPS, tap.name), tap.slot, (cause) => {
      this.writing.push(this.log(Effect.logWarning("tap unavailable", Cause.die(cause))))
    })
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
      const { id, protocol } = attachment
      this.writing.push(this.log(logEnded(end, id, protocol ?? undefined, logExtra(attachment))))
    }
  }

  /** A broadcast socket's echo, for every other broadcast socket of the room. */
  private relay(from: WebSocket, message: Message): void {
    for (const peer of this.ctx.getWebSockets(BROADCAST)) {
      if (peer === from) continue
      const connection = this.connectionOf(peer)
      if (connection !== undefined) this.drive(peer, connection, onDeliver, message)
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
      connection = { attachment, machine: resume(attachment.state), tap: this.tapOf(attachment) }
      this.connections.set(ws, connection)
    }
    return live(connection)
  }

  /** Whether a socket must see every message itself, without counting a wake for it; a refused socket need not. */
  private seesEverything(ws: WebSocket): boolean {
    const known = this.connections.get(ws)
    if (known !== undefined) return known !== null && mustSeeEverything(known.attachment)
    const attachment = attachmentOf(ws)
    if (typeof attachment !== "string") return mustSeeEverything(attachment)
    this.refuse(ws, attachment)
    return false
  }

  /**
   * The text message "ping" is answered by the runtime exactly as the echo would, without waking the object; the
   * answer is the object's, so it is off while a socket of the room has behaviours (it would not stall or delay)
   * or is tapped (its tap would not see the ping and its echo).
   */
  private answerPings(server: WebSocket, attachment: ConnectionAttachment): void {
    if (mustSeeEverything(attachment)) {
      this.ctx.setWebSocketAutoResponse()
    } else if (this.ctx.getWebSockets().every((ws) => ws === server || !this.seesEverything(ws))) {
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
      const now = Date.now()
      const out = fail(connection.machine, connection.attachment.config, now)
      this.publish(connection, FAIL, out, now)
      this.carryOut(ws, connection, out)
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
      else this.drive(ws, connection, onTick, undefined)
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

/** The fields a room's socket adds to its log line: its wakes, and its behaviours' names when it has some. */
const logExtra = ({ wakes, behaviours }: ConnectionAttachment): Record<string, unknown> =>
  behaviours.length === 0 ? { wakes } : { wakes, behaviours }

/** Whether a socket must see every message itself (not the runtime's answer to "ping"): behaviours, or a tap. */
const mustSeeEverything = (attachment: ConnectionAttachment): boolean =>
  attachment.behaviours.length > 0 || attachment.tap !== undefined

/** A connection this instance drives: none for a socket it has not read, has refused (null) or that has ended. */
const live = (connection: RoomConnection | null | undefined): RoomConnection | undefined =>
  connection === undefined || connection === null || connection.machine.state.phase === "ended" ? undefined : connection
