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
import { ABNORMAL_CLOSURE, type CloseFrame } from "../domain/CloseFrame.js"
import {
  type ConnectionConfig,
  type ConnectionEnd,
  type ConnectionMachine,
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
import type { Limits } from "../domain/Traffic.js"
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

/** A connection's driver: what the public `Connection` and the echo programs step its machine with. */
export interface Driver {
  /**
   * Opens the machine for `serving`, then steps what arrived before it. Once: a second call throws, unless the
   * first was the application's own sends before it read (an application may write before it reads).
   */
  readonly serve: (serving: Serving) => void
  /** Steps an input of the application; kept, in order, until `serve` when it comes first. */
  readonly step: (input: Input) => void
  /** Steps the input that ends a program (`Drained`, `Stop`, `Fail`), serving an application first if none was. */
  readonly end: (input: Input) => void
  /** The peer's close frame; 1006 when it dropped, or when the connection ended without one. */
  readonly closed: Deferred.Deferred<CloseFrame>
  /** How the connection ended. */
  readonly ended: Deferred.Deferred<ConnectionEnd>
  /** The close frame this side sent, if any. */
  readonly closeSent: () => CloseFrame | undefined
  /** The peer's close frame, if it sent one. */
  readonly peerClose: () => CloseFrame | undefined
  readonly machine: () => ConnectionMachine | undefined
}

/** The settings a driver opens its machine with. */
export interface DriverSettings {
  readonly limits: Limits
  readonly idleTimeoutMs: number
}

const drivers = new WeakMap<object, Driver>()

/** The driver of a connection made by `WebSocketService`. */
export const driverOf = (connection: object): Driver => {
  const driver = drivers.get(connection)
  if (driver === undefined) throw new Error("not a connection of WebSocketService")
  return driver
}

/** Registers `connection` as driven by `driver`. */
export const attachDriver = <A extends object>(connection: A, driver: Driver): A => {
  drivers.set(connection, driver)
  return connection
}

const dropped: CloseFrame = { code: ABNORMAL_CLOSURE, reason: "" }

/**
 * A driver over `transport`, listening from now on. Events that arrive before `serve` are kept, with their time,
 * and stepped when it is called (in practice none: the echo attaches in the upgrade's own turn).
 */
export const makeDriver = (transport: Transport, clock: Clock.Clock, settings: DriverSettings): Driver => {
  const closed = Deferred.unsafeMake<CloseFrame>(FiberId.none)
  const ended = Deferred.unsafeMake<ConnectionEnd>(FiberId.none)
  const openedAt = clock.unsafeCurrentTimeMillis()
  let machine: ConnectionMachine | undefined
  let config: ConnectionConfig | undefined
  let serving: Serving | undefined
  // Served for the application's writes before it reads: what it is handed meanwhile waits for its reader.
  let writesOnly = false
  const unread: Array<Message> = []
  let stoppedFor: { readonly reason: ConnectionEnded | undefined } | undefined
  let early: Array<{ readonly input: Input; readonly at: number }> | undefined
  let stopped = false
  let done = false
  let sent: CloseFrame | undefined
  let peer: CloseFrame | undefined
  // The one platform timer: set for the machine's next wake, moved only when that comes sooner (a later wake
  // is found when it fires: the idle timeout moves with every message, the timer does not).
  let timerAt: number | undefined
  let cancelTimer: (() => void) | undefined
  const now = () => clock.unsafeCurrentTimeMillis()

  const stopApp = (reason: ConnectionEnded | undefined) => {
    if (stopped) return
    stopped = true
    if (writesOnly) stoppedFor = { reason }
    else serving?.stopped?.(reason)
  }
  const wake = () => {
    timerAt = undefined
    cancelTimer = undefined
    run({ _tag: "Tick" }, now())
  }
  const rearm = (at: number | null, at_: number) => {
    if (at === null || (timerAt !== undefined && timerAt <= at)) return
    cancelTimer?.()
    timerAt = at
    cancelTimer = transport.schedule(Math.max(0, at - at_), wake)
  }
  /** Carries out a step's output: sends, the close, then what the application and the ending are told. */
  const carry = (out: Output, at: number) => {
    for (let i = 0; i < out.send.length; i++) transport.send(out.send[i] as Message)
    if (out.close !== null) {
      sent = out.close
      transport.close(out.close)
    }
    // Read before calling out: the application may step the machine again, which reuses the output.
    const received = out.received
    const exceeded = out.exceeded
    const end = out.ended
    const state = (machine as ConnectionMachine).state
    if (end !== null) {
      done = true
      if (sent === undefined) transport.release()
      unlisten()
      cancelTimer?.()
      Deferred.unsafeDone(closed, Exit.succeed(peer ?? dropped))
      stopApp(end.why === "idle" ? new IdleTimeoutExpired() : (exceeded ?? undefined))
      Deferred.unsafeDone(ended, Exit.succeed(end))
      serving?.ended?.(end)
      return
    }
    rearm(out.nextWakeAt, at)
    if (received !== null) {
      if (writesOnly) unread.push(received)
      else serving?.received?.(received)
    } else if (state.phase !== "open" && state.closeCode === null) stopApp(exceeded ?? undefined)
  }
  const run = (input: Input, at: number) => {
    if (done) return
    if (machine === undefined) {
      early ??= []
      early.push({ input, at })
      return
    }
    carry(step(machine, config as ConnectionConfig, input, at), at)
  }
  const unlisten = transport.listen({
    message: (data) => run({ _tag: "Message", message: data }, now()),
    close(frame, wasClean) {
      if (done) return
      peer = frame
      Deferred.unsafeDone(closed, Exit.succeed(wasClean ? frame : dropped))
      run({ _tag: "PeerClose", code: frame.code, reason: frame.reason, wasClean }, now())
    },
    error: () => run({ _tag: "TransportLost" }, now())
  })
  const serve = (next: Serving) => {
    if (serving !== undefined) {
      if (!writesOnly || next.prefix !== null || next.scenario !== undefined || next.opening !== undefined) {
        throw new Error("a connection is served once: use messages, run or one echo")
      }
      serving = next
      writesOnly = false
      for (const message of unread.splice(0)) next.received?.(message)
      if (stoppedFor !== undefined) next.stopped?.(stoppedFor.reason)
      return
    }
    serving = next
    config = connectionConfig(
      { prefix: next.prefix, limits: settings.limits, idleTimeoutMs: settings.idleTimeoutMs },
      next.scenario ?? noScenario
    )
    machine = open(config, openedAt, next.opening)
    carry(machine.out, openedAt)
    if (early !== undefined) for (const { input, at } of early.splice(0)) run(input, at)
    run({ _tag: "Tick" }, now())
  }
  return {
    serve,
    step(input) {
      if (serving === undefined && (input._tag === "Send" || input._tag === "RequestClose")) {
        writesOnly = true
        serve({ prefix: null })
      }
      run(input, now())
    },
    end(input) {
      if (serving === undefined) serve({ prefix: null })
      run(input, now())
    },
    closed,
    ended,
    closeSent: () => sent,
    peerClose: () => peer,
    machine: () => machine
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
  close: ({ code, reason }) => {
    setTimeout(() => {
      if (socket.readyState !== WEBSOCKET_CLOSED) socket.close(code, reason)
    }, 0)
  },
  // Before compatibility date 2026-04-07 the runtime completes a socket only once the Worker has called `close()`,
  // even after a drop; without it workerd cancels the request as hung (measured). The peer is gone: no code is
  // sent, and a socket the runtime already closed (an `error` event) is left alone.
  release: () => {
    setTimeout(() => {
      if (socket.readyState !== WEBSOCKET_CLOSED) socket.close()
    }, 0)
  },
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
