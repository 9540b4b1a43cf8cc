/**
 * The Worker's driver of a connection's machine (`ConnectionMachine`): the socket's events and one platform timer go
 * in, what the machine decides goes out to the socket. Internal: the public `Connection` is built on it, and the
 * echo programs (`streamEcho`, `startHandlerEcho`) reach it with `driverOf`. Every rule (admission, the idle
 * timeout, the closing handshake and its deadline, the behaviours) is the machine's; this file only does I/O.
 */
import type * as Clock from "effect/Clock"
import * as Deferred from "effect/Deferred"
import * as Effect from "effect/Effect"
import * as Exit from "effect/Exit"
import * as FiberId from "effect/FiberId"
import * as Mailbox from "effect/Mailbox"
import * as Stream from "effect/Stream"
import { type CloseFrame, connectionDropped } from "../domain/CloseFrame.js"
import {
  CLOSE_TIMEOUT_MS,
  type ConnectionConfig,
  type ConnectionEnd,
  type ConnectionMachine,
  carried,
  connectionConfig,
  type Input,
  type Opening,
  type Output,
  open,
  step
} from "../domain/ConnectionMachine.js"
import { IdleTimeoutExpired } from "../domain/IdleTimeout.js"
import type { Message } from "../domain/Message.js"
import { noScenario, type Scenario } from "../domain/Scenario.js"
import { openEvents, stepEvents, type TapSubject } from "../domain/TapEvent.js"
import type { Limits } from "../domain/Traffic.js"
import type { TapLine } from "./EchoTaps.js"
import type { ConnectionEnded } from "./WebSocketService.js"

/** The raw socket under a connection: the server end of a `WebSocketPair`, or an in-memory one. */
export interface Transport {
  readonly send: (message: Message) => void
  /** Sends a close frame: at once, or on a later turn of the event loop (the Workers runtime's, see there). */
  readonly close: (frame: CloseFrame) => void
  /** Lets go of a socket whose connection ended with no close frame of ours (a drop): nothing reaches the peer. */
  readonly release: () => void
  /** Starts delivering events; returns the function that stops it. */
  readonly listen: (on: TransportEvents) => () => void
  /** Runs `task` after `ms` (the `Clock`'s milliseconds); returns the function that cancels it. */
  readonly schedule: (ms: number, task: () => void) => () => void
}

/** What a transport reports: a message, the peer's close (`wasClean` false for a drop), a failure. */
export interface TransportEvents {
  readonly message: (data: Message) => void
  readonly close: (frame: CloseFrame, wasClean: boolean) => void
  readonly error: () => void
}

/** Who serves a connection once its machine opens: the echo (a prefix) or an application, and what it hears. */
export interface Serving {
  /** The echo's prefix; null when the application answers (each admitted message goes to `received`). */
  readonly prefix: string | null
  readonly scenario?: Scenario
  readonly opening?: Opening
  /** An admitted message, for the application. */
  readonly received?: (message: Message) => void
  /**
   * The application gets no more messages: the peer closed, a limit refused one (`reason`), or the connection
   * ended (`reason` is the idle timeout's failure, or undefined). Called once.
   */
  readonly stopped?: (reason: ConnectionEnded | undefined) => void
  /** The connection ended, with its log line's fields. Called once. */
  readonly ended?: (end: ConnectionEnd) => void
}

/** The settings a driver opens its machine with. */
export interface DriverSettings {
  readonly limits: Limits
  readonly idleTimeoutMs: number
}

/** A tapped connection: what its events say of it, the fields its log line adds, and the way to its tap. */
export interface DriverTap {
  readonly subject: TapSubject
  readonly extra: Record<string, unknown> | undefined
  readonly line: TapLine
}

/** Where a connection of `WebSocketService` keeps its driver (not part of `Connection`'s interface). */
export const DRIVER: unique symbol = Symbol.for("websocket-echo/ConnectionDriver")

/** The driver of a connection made by `WebSocketService`. */
export const driverOf = (connection: object): Driver => {
  const driver = (connection as { readonly [DRIVER]?: Driver })[DRIVER]
  if (driver === undefined) throw new Error("not a connection of WebSocketService")
  return driver
}

/**
 * A connection's driver: what the public `Connection` and the echo programs step its machine with. A class, so that
 * an open socket holds one object of fields and no closures of its own (its methods are shared).
 */
export class Driver implements TransportEvents {
  /** The `Clock` time (ms) the connection opened at: the upgrade's. */
  readonly openedAt: number
  private machine_: ConnectionMachine | undefined
  private config: ConnectionConfig | undefined
  private serving: Serving | undefined
  /** Opened for an application's writes before it reads: what it is handed meanwhile waits for its reader. */
  private unclaimed = false
  private unread: Array<Message> | undefined
  private stoppedFor: { readonly reason: ConnectionEnded | undefined } | undefined
  private early: Array<{ readonly input: Input; readonly at: number }> | undefined
  private stopped = false
  private sent: CloseFrame | undefined
  private peer: CloseFrame | undefined
  private peerFrame: CloseFrame | undefined
  /** How the connection ended; set once, and nothing is stepped after it. */
  private end_: ConnectionEnd | undefined
  private closedDeferred: Deferred.Deferred<CloseFrame> | undefined
  private endedDeferred: Deferred.Deferred<ConnectionEnd> | undefined
  /**
   * The one platform timer: set for the machine's next wake, moved only when that comes sooner (a later wake is
   * found when it fires: the idle timeout moves with every message, the timer does not).
   */
  private timerAt: number | undefined
  private cancelTimer: (() => void) | undefined
  private readonly unlisten: () => void
  /** The tap of a tapped connection (`?tap=NAME`); the one check an untapped step pays. */
  private tap: DriverTap | undefined

  /** A driver over `transport`, listening from now on; events before `serve` are kept, with their time. */
  constructor(
    private readonly transport: Transport,
    private readonly clock: Clock.Clock,
    private readonly settings: DriverSettings
  ) {
    this.openedAt = clock.unsafeCurrentTimeMillis()
    this.unlisten = transport.listen(this)
  }

  /** Publishes every event of the connection to `tap`, from its opening on: call it before `serve`. */
  tapWith(tap: DriverTap): void {
    this.tap = tap
  }

  /**
   * Opens the machine for `serving`, then steps what arrived before it. Once: a second call throws, unless the
   * first was the application's own sends before it read (an application may write before it reads).
   */
  serve(next: Serving): void {
    if (this.serving !== undefined) {
      if (!this.unclaimed || next.prefix !== null || next.scenario !== undefined || next.opening !== undefined) {
        throw new Error("a connection is served once: use messages, run or one echo")
      }
      this.serving = next
      this.unclaimed = false
      if (this.unread !== undefined) for (const message of this.unread.splice(0)) next.received?.(message)
      if (this.stoppedFor !== undefined) next.stopped?.(this.stoppedFor.reason)
      return
    }
    this.serving = next
    const config = connectionConfig(
      { prefix: next.prefix, limits: this.settings.limits, idleTimeoutMs: this.settings.idleTimeoutMs },
      next.scenario ?? noScenario
    )
    this.config = config
    const machine = open(config, this.openedAt, next.opening)
    this.machine_ = machine
    if (this.tap !== undefined) this.tap.line.publish(openEvents(this.tap.subject, machine.out, this.openedAt))
    this.carry(machine.out, this.openedAt)
    if (this.early !== undefined) for (const { input, at } of this.early.splice(0)) this.run(input, at)
    this.run({ _tag: "Tick" }, this.now())
  }

  /** Steps an input of the application; kept, in order, until `serve` when it comes first. */
  step(input: Input): void {
    if (input._tag === "Send" || input._tag === "RequestClose") this.openUnclaimed()
    this.run(input, this.now())
  }

  /** Steps the input that ends a program (`Drained`, `Stop`, `Fail`), serving an application first if none was. */
  end(input: Input): void {
    if (this.serving === undefined) this.serve({ prefix: null })
    this.run(input, this.now())
  }

  /** The peer's close frame; 1006 when it dropped, or when the connection ended without one. */
  get closed(): Deferred.Deferred<CloseFrame> {
    if (this.closedDeferred === undefined) {
      this.closedDeferred = Deferred.unsafeMake<CloseFrame>(FiberId.none)
      if (this.peerFrame !== undefined) Deferred.unsafeDone(this.closedDeferred, Exit.succeed(this.peerFrame))
    }
    return this.closedDeferred
  }

  /** How the connection ended. */
  get ended(): Deferred.Deferred<ConnectionEnd> {
    if (this.endedDeferred === undefined) {
      this.endedDeferred = Deferred.unsafeMake<ConnectionEnd>(FiberId.none)
      if (this.end_ !== undefined) Deferred.unsafeDone(this.endedDeferred, Exit.succeed(this.end_))
    }
    return this.endedDeferred
  }

  /** The close frame this side sent, if any. */
  closeSent(): CloseFrame | undefined {
    return this.sent
  }

  /** The peer's close frame, if it sent one. */
  peerClose(): CloseFrame | undefined {
    return this.peer
  }

  machine(): ConnectionMachine | undefined {
    return this.machine_
  }

  // The transport's events.

  message(data: Message): void {
    this.run({ _tag: "Message", message: data }, this.now())
  }

  close(frame: CloseFrame, wasClean: boolean): void {
    if (this.end_ !== undefined) return
    this.peer = frame
    this.settleClosed(wasClean ? frame : connectionDropped)
    this.run({ _tag: "PeerClose", code: frame.code, reason: frame.reason, wasClean }, this.now())
  }

  error(): void {
    this.run({ _tag: "TransportLost" }, this.now())
  }

  /** Opens the machine for an application that has not claimed the connection yet (`unclaimed`): its writes. */
  private openUnclaimed(): void {
    if (this.serving !== undefined) return
    this.unclaimed = true
    this.serve({ prefix: null })
  }

  private now(): number {
    return this.clock.unsafeCurrentTimeMillis()
  }

  private settleClosed(frame: CloseFrame): void {
    if (this.peerFrame !== undefined) return
    this.peerFrame = frame
    if (this.closedDeferred !== undefined) Deferred.unsafeDone(this.closedDeferred, Exit.succeed(frame))
  }

  private run(input: Input, at: number): void {
    if (this.end_ !== undefined) return
    if (this.machine_ === undefined) {
      this.early ??= []
      this.early.push({ input, at })
      return
    }
    const out = step(this.machine_, this.config as ConnectionConfig, input, at)
    if (this.tap !== undefined) this.tap.line.publish(stepEvents(this.tap.subject, input, out, at, this.tap.extra))
    this.carry(out, at)
  }

  /** Carries out a step's output: sends, the close, then what the application and the ending are told. */
  private carry(out: Output, at: number): void {
    const transport = this.transport
    for (let i = 0; i < out.send.length; i++) transport.send(out.send[i] as Message)
    carried(out)
    if (out.close !== null) {
      this.sent = out.close
      transport.close(out.close)
    }
    // Read before calling out: the application may step the machine again, which reuses the output.
    const received = out.received
    const exceeded = out.exceeded
    const end = out.ended
    if (end !== null) {
      this.finish(end, exceeded)
      return
    }
    this.rearm(out.nextWakeAt, at)
    if (received !== null) {
      if (!this.unclaimed) this.serving?.received?.(received)
      else if (this.unread === undefined) this.unread = [received]
      else this.unread.push(received)
    } else {
      const state = (this.machine_ as ConnectionMachine).state
      if (state.phase !== "open" && state.closeCode === null) this.stopApp(exceeded ?? undefined)
    }
  }

  private finish(end: ConnectionEnd, exceeded: ConnectionEnded | null): void {
    this.end_ = end
    if (this.sent === undefined) this.transport.release()
    this.unlisten()
    this.cancelTimer?.()
    this.settleClosed(this.peer ?? connectionDropped)
    this.stopApp(end.why === "idle" ? new IdleTimeoutExpired() : (exceeded ?? undefined))
    if (this.endedDeferred !== undefined) Deferred.unsafeDone(this.endedDeferred, Exit.succeed(end))
    this.serving?.ended?.(end)
  }

  private stopApp(reason: ConnectionEnded | undefined): void {
    if (this.stopped) return
    this.stopped = true
    if (this.unclaimed) this.stoppedFor = { reason }
    else this.serving?.stopped?.(reason)
  }

  private rearm(next: number | null, now: number): void {
    if (next === null) return
    // An application's connection answers a peer's close only once the application has drained, by the close
    // timeout at the latest: a timer never set further out than that is never moved earlier for it (a
    // `setTimeout` and a `clearTimeout` more per connection, measured as ≈ 10% of the stream's upgrade); a
    // later wake is found when it fires.
    const at = this.config?.prefix === null ? Math.min(next, now + CLOSE_TIMEOUT_MS) : next
    if (this.timerAt !== undefined && this.timerAt <= at) return
    this.cancelTimer?.()
    this.timerAt = at
    this.cancelTimer = this.transport.schedule(Math.max(0, at - now), () => this.wake())
  }

  private wake(): void {
    this.timerAt = undefined
    this.cancelTimer = undefined
    this.run({ _tag: "Tick" }, this.now())
  }
}

/**
 * Serves the connection to an application that reads its messages as a `Stream` (`Connection.messages`, the
 * stream's echo): each admitted message is offered to a mailbox, which ends when the application gets no more.
 */
export const messagesOf = (
  driver: Driver,
  serving: Omit<Serving, "received" | "stopped"> = { prefix: null }
): Stream.Stream<Message, ConnectionEnded> =>
  Stream.unwrap(
    Effect.map(Mailbox.make<Message, ConnectionEnded>(), (mailbox) => {
      driver.serve({
        ...serving,
        received: (data) => mailbox.unsafeOffer(data),
        stopped: (reason) => mailbox.unsafeDone(reason === undefined ? Exit.void : Exit.fail(reason))
      })
      return Mailbox.toStream(mailbox)
    })
  )

const WEBSOCKET_CLOSED = 3

/** Closes `socket` on a later turn (see `fromWebSocket`) with `frame`, or no code; not once the runtime closed it. */
const closeLater = (socket: WebSocket, frame?: CloseFrame): void => {
  setTimeout(() => {
    if (socket.readyState === WEBSOCKET_CLOSED) return
    if (frame === undefined) socket.close()
    else socket.close(frame.code, frame.reason)
  }, 0)
}

/** The server end of a `WebSocketPair` as a transport. */
export const fromWebSocket = (socket: WebSocket): Transport => ({
  send: (message) => socket.send(message),
  // Handed to the runtime from a timer, never inside the event that decided it. workerd sends a socket's frames
  // with one pump at a time; once a pump has emptied its queue, a continuation runs some turns later and, if both
  // sides have closed by then, releases the socket and cancels any pump started since: only hibernatable sockets
  // check for one (`WebSocket::ensurePumping`, src/workerd/api/web-socket.c++, 1.20260310 and still in August
  // 2026). A close answered in the peer's close event, just after the pump of the last echo finished, was cancelled
  // so: the peer got no close frame and saw 1006 (4–10% of sockets with ten closing at once, a plain Worker alike).
  // A timer fires only after the event loop has run every queued event, so that continuation has run by then.
  close: (frame) => closeLater(socket, frame),
  // Before compatibility date 2026-04-07 the runtime completes a socket only once the Worker has called `close()`,
  // even after a drop; without it workerd cancels the request as hung (measured). The peer is gone: no code is
  // sent.
  release: () => closeLater(socket),
  schedule(ms, task) {
    const timer = setTimeout(task, ms)
    return () => clearTimeout(timer)
  },
  listen(on) {
    const onMessage = (event: MessageEvent) => on.message(event.data as Message)
    const onClose = (event: CloseEvent) => on.close({ code: event.code, reason: event.reason }, event.wasClean)
    const onError = () => on.error()
    socket.addEventListener("message", onMessage)
    socket.addEventListener("close", onClose)
    socket.addEventListener("error", onError)
    return () => {
      socket.removeEventListener("message", onMessage)
      socket.removeEventListener("close", onClose)
      socket.removeEventListener("error", onError)
    }
  }
})
