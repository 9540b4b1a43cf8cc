/**
 * The rules of one WebSocket connection, once, with no I/O: a sans-I/O core in the manner of python websockets'
 * `Protocol`, h11 and quinn-proto. Events go in with the time they happened (`now`, ms); what to send, the close
 * frame, the end of the connection and when to wake the machine next come out. The machine never reads a clock,
 * sets a timer or touches a socket, and runs without Effect.
 *
 * How each driver uses it:
 * - **Handler** (a Worker's socket events): `open` after `accept()`; `receive` in each `message` event,
 *   `peerClose` in `close` (with `CloseEvent.wasClean`), `transportLost` in `error`; `deliver` for nothing (no
 *   rooms). After each step it sends `out.send` in order, then `out.close`, and keeps ONE platform timer set for
 *   `out.nextWakeAt`, which calls `tick`. When `out.ended` is set it writes the log line and releases the socket
 *   (listeners, timer, `waitUntil`).
 * - **Durable Object**: `open` in `fetch`, then `machine.state` (with its config) is the socket's attachment, and
 *   `resume(state)` rebuilds the machine in a new instance. `webSocketMessage` → `receive` (and, for a broadcast
 *   socket, `out.relay` → `deliver` on every other broadcast socket of the room), `webSocketClose` → `peerClose`,
 *   `webSocketError` → `transportLost`, `alarm` → `tick` on every socket; the alarm is the least `nextWakeAt` of
 *   the room. A ping answered by the runtime is `noteActivity`. Delayed echoes (`machine.delayed`) live in the
 *   instance's memory: while a socket has one, the object wakes by a timer, which keeps it in memory (≤ 10 s), as
 *   today. So does a socket `answering` a close: the runtime no longer lists a socket once its close was delivered,
 *   so the alarm cannot find it (a stalled socket's answer waits up to the idle timeout).
 * - **Stream** (a fiber per socket): the peer's events and a timer for `nextWakeAt` become a `Stream` of `Input`s,
 *   scanned through `step`; each output's `send` (copied: the output is reused) feeds the Stream that is sent, its
 *   `close` and `ended` finish it. Admission, delays, pushes, closes and the idle timeout are decided here, not by
 *   Stream operators.
 *
 * State and memory. `ConnectionState` is plain JSON data, mutated in place by each step (no allocation on the
 * hot path but the output's array slot and the echo itself), and bounded: counters, timestamps, the close frame
 * owed to the peer (its reason at most 123 bytes). Its worst case with its config, an id and the longest
 * subprotocol is `worstCaseAttachment()`, under a Durable Object attachment's 16 KiB. Delayed echoes are not
 * in it: `delay_ms` (≤ 10 s) times the peer's rate times its message size has no useful bound, and a message may be
 * 32 MiB. They are `machine.delayed`, a FIFO of `(dueAt, message)` that the machine fills and drains and the driver
 * only holds in memory (today they are timers, in memory too); the state keeps the one bound that matters, the time
 * by which an owed close answer goes out even if they are lost.
 *
 * Every step first does what fell due before its `now` (a late timer never reorders events), then handles its
 * input: one call on plain data, which on the hot path (an admitted message of the plain echo) allocates nothing but
 * the prefixed echo.
 *
 * @example
 * ```ts
 * // A handler driver: each event one step, carried out in order; one timer for the machine's next wake.
 * import { connectionConfig, type Output, open, peerClose, receive, tick } from "websocket-echo/ConnectionMachine"
 *
 * declare const socket: WebSocket
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1_048_576, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 600_000
 * })
 * let timer: ReturnType<typeof setTimeout> | undefined
 * const carryOut = (out: Output): void => {
 *   for (const message of out.send) socket.send(message)
 *   if (out.close !== null) socket.close(out.close.code, out.close.reason)
 *   if (out.ended !== null) console.log("connection ended", out.ended.why)
 *   if (timer !== undefined) clearTimeout(timer)
 *   const at = out.nextWakeAt
 *   timer = at === null ? undefined : setTimeout(() => carryOut(tick(machine, config, Date.now())), at - Date.now())
 * }
 * const machine = open(config, Date.now())
 * carryOut(machine.out)
 * socket.addEventListener("message", (event) => carryOut(receive(machine, config, event.data, Date.now())))
 * socket.addEventListener("close", (event) => carryOut(peerClose(machine, config, event, Date.now())))
 * ```
 */
import {
  ABNORMAL_CLOSURE,
  type CloseFrame,
  closeReasonTooLong,
  closeReply,
  goingAway,
  internalError,
  invalidCloseCode,
  MAX_CLOSE_REASON_BYTES,
  messageTooBig
} from "./CloseFrame.js"
import { idleAt, idleTimeout } from "./IdleTimeout.js"
import { MAX_PREFIX_BYTES, type Message, prefixMessage } from "./Message.js"
import type { MessageTooLarge } from "./MessageTooLarge.js"
import { type RateLimitExceeded, rateLimited } from "./RateLimit.js"
import {
  behaviourParameters,
  closeAfterEchoes,
  MAX_SCENARIO_TEXT_BYTES,
  noScenario,
  type Scenario,
  type ScenarioClose,
  type ScenarioPush
} from "./Scenario.js"
import { MAX_SUBPROTOCOL_BYTES } from "./Subprotocol.js"
import { admit, countReceived, countSent, type Limits, makeTraffic, type Traffic } from "./Traffic.js"

/**
 * How long the server waits for the peer's answer to its own close frame before it ends the connection: the idle
 * timeout, capped at this (Node `ws`'s `closeTimeout`), and this when the idle timeout is off. A peer's WebSocket
 * stack answers a close at once, so a longer wait only holds a slot (a room's socket, a `waitUntil`, memory) for a
 * peer that is gone; waiting up to the idle timeout (600 s by default, up to a day) would do just that. Ending means
 * releasing our side: the runtime cannot drop the TCP connection (a platform gap).
 *
 * @example
 * ```ts
 * import { CLOSE_TIMEOUT_MS } from "websocket-echo/ConnectionMachine"
 *
 * // A client waits for the server's answer to its close at least as long as the server would wait for one.
 * export const clientCloseTimeoutMs = CLOSE_TIMEOUT_MS + 1_000
 * ```
 *
 * @since 2.0.0
 */
export const CLOSE_TIMEOUT_MS = 30_000

/**
 * The largest attachment a Durable Object's socket may have, in bytes (the runtime's limit).
 *
 * @example
 * ```ts
 * import { MAX_ATTACHMENT_BYTES, worstCaseAttachment } from "websocket-echo/ConnectionMachine"
 *
 * const bytes = new TextEncoder().encode(JSON.stringify(worstCaseAttachment())).length
 * export const fits = bytes <= MAX_ATTACHMENT_BYTES // true
 * ```
 *
 * @since 2.0.0
 */
export const MAX_ATTACHMENT_BYTES = 16_384

/**
 * What a connection is served with: the deployment's settings and the socket behaviours of its scenario.
 *
 * @example
 * ```ts
 * import { type ConnectionConfig, connectionConfig } from "websocket-echo/ConnectionMachine"
 *
 * // A connection whose application answers (prefix null): each admitted message comes out as `received`.
 * export const config: ConnectionConfig = connectionConfig({
 *   prefix: null,
 *   limits: { maxMessageBytes: 65_536, maxMessagesPerSecond: 100 },
 *   idleTimeoutMs: 0
 * })
 * ```
 *
 * @since 2.0.0
 */
export interface ConnectionConfig {
  /**
   * The echo's prefix; null for a connection whose application answers (a `Socket`, an RPC server): each admitted
   * message is handed to it (`Output.received`), and it sends with `send` and closes with `requestClose`.
   */
  readonly prefix: string | null
  readonly limits: Limits
  /** 0 turns the idle timeout off. */
  readonly idleTimeoutMs: number
  readonly delayMs: number
  readonly close: ScenarioClose | null
  readonly push: ScenarioPush | null
  readonly stall: boolean
  readonly broadcast: boolean
}

/**
 * The deployment's settings a connection is opened with.
 *
 * @example
 * ```ts
 * import { type ConnectionSettings, connectionConfig } from "websocket-echo/ConnectionMachine"
 *
 * // The echo's own defaults: the prefix, 1 MiB messages, no rate limit, ten silent minutes.
 * const settings: ConnectionSettings = {
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1_048_576, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 600_000
 * }
 *
 * export const config = connectionConfig(settings)
 * ```
 *
 * @since 2.0.0
 */
export interface ConnectionSettings {
  readonly prefix: string | null
  readonly limits: Limits
  readonly idleTimeoutMs: number
}

/**
 * A connection's config: `settings` and what `scenario` asks of the socket. The greeting and the info are sent
 * by `open` and not kept: a state that outlives them (an attachment) has no use for 1 KiB of greeting.
 *
 * @example
 * ```ts
 * import { connectionConfig } from "websocket-echo/ConnectionMachine"
 *
 * export const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 0
 * })
 * ```
 *
 * @since 2.0.0
 */
export const connectionConfig = (settings: ConnectionSettings, scenario: Scenario = noScenario): ConnectionConfig => ({
  prefix: settings.prefix,
  limits: settings.limits,
  idleTimeoutMs: settings.idleTimeoutMs,
  delayMs: scenario.delayMs,
  close: scenario.close ?? null,
  push: scenario.push ?? null,
  stall: scenario.stall,
  broadcast: scenario.broadcast
})

/**
 * Where a connection is. `open`: echoing. `closing`: the server sent a close on request and waits for the peer's
 * answer until `deadline`. `answering`: the peer closed; its answer waits for the echoes that arrived before its
 * close (or, for a stalled socket, for the idle timeout) until `deadline`. `ended`: nothing more happens.
 *
 * @example
 * ```ts
 * import type { ConnectionMachine, Phase } from "websocket-echo/ConnectionMachine"
 *
 * const said: Record<Phase, string> = {
 *   open: "echoing",
 *   closing: "waiting for the peer to answer our close",
 *   answering: "about to answer the peer's close",
 *   ended: "ended"
 * }
 *
 * export const status = (machine: ConnectionMachine) => said[machine.state.phase]
 * ```
 *
 * @since 2.0.0
 */
export type Phase = "open" | "closing" | "answering" | "ended"

/**
 * Why a connection ended, on its log line.
 *
 * @example
 * ```ts
 * import type { ConnectionEnd, EndReason } from "websocket-echo/ConnectionMachine"
 *
 * // The endings that are the peer's doing, as a client's test expects them.
 * const byPeer: ReadonlyArray<EndReason> = ["peer-close", "protocol-error", "transport", "too-big", "rate"]
 *
 * export const endedByPeer = (end: ConnectionEnd) => byPeer.includes(end.why)
 * ```
 *
 * @since 2.0.0
 */
export type EndReason =
  /** The peer closed and its close was answered (mirrored, or 1000 for no code). */
  | "peer-close"
  /** The peer's close frame broke RFC 6455 (a code that may not be sent, a reason over 123 bytes): answered 1002. */
  | "protocol-error"
  /** The connection dropped without a close frame, or failed: no close frame was attempted. */
  | "transport"
  /** Silent both ways for the idle timeout: 1001. */
  | "idle"
  /** A message over `maxMessageBytes`: 1009. */
  | "too-big"
  /** A message over `maxMessagesPerSecond`: 1008. */
  | "rate"
  /** The server closed on request (`close_code`…) and the peer answered. */
  | "requested"
  /** The server closed on request and the peer did not answer within the closing handshake's deadline. */
  | "handshake-timeout"
  /** The driver stopped serving the connection: 1001. */
  | "stopped"
  /** The driver failed: 1011. */
  | "internal"

/**
 * Everything that decides what a connection does next: plain JSON data, mutated in place by each step, small and
 * bounded (see `worstCaseAttachment`). A Durable Object keeps it (with its config) as the socket's attachment.
 *
 * @example
 * ```ts
 * import type { ConnectionState } from "websocket-echo/ConnectionMachine"
 *
 * // How far a connection got, for a debugging endpoint.
 * export const progress = ({ phase, echoes, traffic }: ConnectionState) => ({
 *   phase,
 *   echoes,
 *   messagesIn: traffic.messagesIn
 * })
 * ```
 *
 * @since 2.0.0
 */
export interface ConnectionState {
  phase: Phase
  readonly openedAt: number
  /** Counters, last activity and the rate-limit bucket, shared with every driver's admission rule. */
  readonly traffic: Traffic
  /** Echoes sent so far, for `close_after`. */
  echoes: number
  pushesLeft: number
  /** When the next push is due; null for none. */
  pushAt: number | null
  /** When the close asked for with `close_after_ms` is due; null for none. */
  closeAt: number | null
  /** `closing`: when the wait for the peer's answer ends. `answering`: when the answer goes out at the latest. */
  deadline: number | null
  /** The code of the close frame the server sent; null until it sends one. */
  closeCode: number | null
  /** The code of the peer's close frame (1006 when the connection dropped); null while the peer has not closed. */
  peerCloseCode: number | null
  /** `answering`: the close frame owed to the peer, and how the connection ends once it is sent. */
  answer: CloseFrame | null
  answerWhy: EndReason | null
}

/**
 * An echo waiting for its `delay_ms`: sent at `dueAt`, in the order it arrived.
 *
 * @example
 * ```ts
 * import type { ConnectionMachine, DelayedEcho } from "websocket-echo/ConnectionMachine"
 *
 * // The next echo that waits for its `delay_ms`: what the driver holds in memory, not in an attachment.
 * export const nextDelayed = (machine: ConnectionMachine): DelayedEcho | undefined => machine.delayed[0]
 * ```
 *
 * @since 2.0.0
 */
export interface DelayedEcho {
  readonly dueAt: number
  readonly message: Message
}

/**
 * The fields of a connection's one log line, set by the step that ended it.
 *
 * @example
 * ```ts
 * import type { ConnectionEnd } from "websocket-echo/ConnectionMachine"
 *
 * // Bytes per second both ways, over the connection's life.
 * export const throughput = (end: ConnectionEnd) => ((end.bytesIn + end.bytesOut) * 1000) / Math.max(end.durationMs, 1)
 * ```
 *
 * @since 2.0.0
 */
export interface ConnectionEnd {
  readonly why: EndReason
  readonly durationMs: number
  readonly messagesIn: number
  readonly bytesIn: number
  readonly messagesOut: number
  readonly bytesOut: number
  readonly peerCloseCode: number | null
  readonly closeCode: number | null
}

/**
 * What a step asks the driver to do, in this order: send `send`, then `close`, hand `relay` to the room, log
 * `ended` and release the socket, and wake the machine (`tick`) at `nextWakeAt`. One object per machine, reused by
 * every step: carry it out (or copy it) before the next step.
 *
 * @example
 * ```ts
 * import type { Output } from "websocket-echo/ConnectionMachine"
 *
 * // A driver carries out a step in this order: its messages, then its close frame.
 * export const carryOut = (socket: WebSocket, out: Output) => {
 *   for (const message of out.send) socket.send(message)
 *   if (out.close !== null) socket.close(out.close.code, out.close.reason)
 * }
 * ```
 *
 * @since 2.0.0
 */
export interface Output {
  /** Messages to send, in order: info, greeting, echoes (prefixed), pushes. */
  readonly send: Array<Message>
  /** The close frame to send after `send`; its code may be sent and its reason fits a control frame. */
  close: CloseFrame | null
  /** A broadcast socket's echo, for every other broadcast socket of its room (`deliver`). */
  relay: Message | null
  /** An admitted message for the application, when the connection has no echo of its own (`prefix` null). */
  received: Message | null
  /** The limit a message of this step went over (its close is `close`, or owed: see `receive`). */
  exceeded: MessageTooLarge | RateLimitExceeded | null
  /** Set once, by the step that ended the connection. */
  ended: ConnectionEnd | null
  /** When to call `tick` next (ms, never before the step's `now`); null once nothing is pending or it ended. */
  nextWakeAt: number | null
}

/**
 * One connection's machine: its `state` (what a Durable Object stores), its delayed echoes (what the driver holds
 * in memory) and its reusable output.
 *
 * @example
 * ```ts
 * import { type ConnectionMachine, connectionConfig, open } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 *
 * export const machine: ConnectionMachine = open(config, Date.now())
 * ```
 *
 * @since 2.0.0
 */
export interface ConnectionMachine {
  readonly state: ConnectionState
  readonly delayed: Array<DelayedEcho>
  readonly out: Output
}

/**
 * A close frame from the peer, as the runtime reports it: `wasClean` false (or absent, with 1006) for a drop.
 *
 * @example
 * ```ts
 * import type { ConnectionConfig, ConnectionMachine, PeerClose } from "websocket-echo/ConnectionMachine"
 * import { peerClose } from "websocket-echo/ConnectionMachine"
 *
 * // A close event as the runtime reports it: `wasClean` false is a drop, which gets no close frame back.
 * export const onClose = (machine: ConnectionMachine, config: ConnectionConfig, event: CloseEvent) => {
 *   const frame: PeerClose = { code: event.code, reason: event.reason, wasClean: event.wasClean }
 *   return peerClose(machine, config, frame, Date.now())
 * }
 * ```
 *
 * @since 2.0.0
 */
export interface PeerClose extends CloseFrame {
  readonly wasClean?: boolean
}

/**
 * The messages that open a connection: the info (`info=true`) and the greeting, each when asked for.
 *
 * @example
 * ```ts
 * import { connectionConfig, type Opening, open } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 0
 * })
 * const opening: Opening = { greeting: "welcome" }
 *
 * export const greeted = [...open(config, 0, opening).out.send] // ["welcome"]
 * ```
 *
 * @since 2.0.0
 */
export interface Opening {
  readonly info?: string | undefined
  readonly greeting?: string | undefined
}

/**
 * Every input of `step`.
 *
 * @example
 * ```ts
 * import { connectionConfig, type Input, open, step } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * // The socket's events as values, through one function.
 * const inputs: ReadonlyArray<Input> = [
 *   { _tag: "Message", message: "hi" },
 *   { _tag: "PeerClose", code: 1000, reason: "bye" }
 * ]
 *
 * export const sent = inputs.map((input, i) => [...step(machine, config, input, i + 1).send]) // [["echo: hi"], []]
 * ```
 *
 * @since 2.0.0
 */
export type Input =
  | { readonly _tag: "Message"; readonly message: Message }
  | { readonly _tag: "Deliver"; readonly message: Message }
  | { readonly _tag: "PeerClose"; readonly code: number; readonly reason: string; readonly wasClean?: boolean }
  | { readonly _tag: "TransportLost" }
  | { readonly _tag: "Tick" }
  | { readonly _tag: "Activity"; readonly at: number }
  | { readonly _tag: "Send"; readonly message: Message }
  | { readonly _tag: "RequestClose"; readonly frame: CloseFrame }
  | { readonly _tag: "Drained" }
  | { readonly _tag: "Reply"; readonly message: Message }
  | { readonly _tag: "Stop"; readonly frame?: CloseFrame }
  | { readonly _tag: "Fail" }

/**
 * Opens a connection at `now` (the upgrade is done): sends its info, then its greeting, then the close asked for
 * with no `after` parameter; a stalled socket sends none of them.
 *
 * @example
 * ```ts
 * import { connectionConfig, open } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0, { greeting: "hi" })
 *
 * export const opening = [...machine.out.send] // ["hi"]
 * export const wakeAt = machine.out.nextWakeAt // 60000: the idle timeout
 * ```
 *
 * @since 2.0.0
 */
export const open = (config: ConnectionConfig, now: number, opening: Opening = {}): ConnectionMachine => {
  const active = !config.stall
  const push = active ? config.push : null
  const afterMs = active ? config.close?.afterMs : undefined
  const machine: ConnectionMachine = {
    state: {
      phase: "open",
      openedAt: now,
      traffic: makeTraffic(config.limits, now),
      echoes: 0,
      pushesLeft: push === null ? 0 : push.count,
      pushAt: push === null ? null : now + push.everyMs,
      closeAt: afterMs === undefined ? null : now + afterMs,
      deadline: null,
      closeCode: null,
      peerCloseCode: null,
      answer: null,
      answerWhy: null
    },
    delayed: [],
    out: { send: [], close: null, relay: null, received: null, exceeded: null, ended: null, nextWakeAt: null }
  }
  if (active) {
    if (opening.info !== undefined) sendMessage(machine, opening.info, now)
    if (opening.greeting !== undefined) sendMessage(machine, opening.greeting, now)
    if (config.close !== null && closeAfterEchoes(config.close) === 0)
      startClose(machine, config, config.close.frame, now)
  }
  runDue(machine, config, now)
  finish(machine, config)
  return machine
}

/**
 * The machine of a stored state (a Durable Object's attachment, in a new instance): no delayed echoes (they lived
 * in the instance that was evicted) and an empty output.
 *
 * @example
 * ```ts
 * import { type ConnectionAttachment, resume } from "websocket-echo/ConnectionMachine"
 *
 * // In a Durable Object woken after hibernation: the socket's machine again, from its attachment.
 * export const machineOf = (ws: WebSocket) => resume((ws.deserializeAttachment() as ConnectionAttachment).state)
 * ```
 *
 * @since 2.0.0
 */
export const resume = (state: ConnectionState): ConnectionMachine => ({
  state,
  delayed: [],
  out: { send: [], close: null, relay: null, received: null, exceeded: null, ended: null, nextWakeAt: null }
})

/**
 * A message from the peer at `now`: admitted (size, then rate: over either, 1009 or 1008 and the end) and counted,
 * then echoed with the prefix: at once, after `delay_ms`, to the room for a broadcast socket, or not at all for a
 * stalled one. The `close_after`-th echo is followed by the close asked for. Once a close frame went either way, a
 * message is only counted.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, receive } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * export const echoed = [...receive(machine, config, "hi", 10).send] // ["echo: hi"]
 * ```
 *
 * @since 2.0.0
 */
export const receive = (
  machine: ConnectionMachine,
  config: ConnectionConfig,
  message: Message,
  now: number
): Output => {
  heardFrom(machine, now)
  begin(machine, config, now)
  const state = machine.state
  if (state.phase === "open") {
    const exceeded = admit(state.traffic, config.limits, message, now)
    if (exceeded !== undefined) {
      const tooBig = exceeded._tag === "MessageTooLarge"
      const frame = tooBig ? messageTooBig : rateLimited
      const why = tooBig ? "too-big" : "rate"
      machine.out.exceeded = exceeded
      // An application may still be answering earlier messages: the close waits for it (`drained`).
      if (config.prefix === null) answerLater(machine, frame, why, now + closeTimeoutOf(config))
      else closeAndEnd(machine, frame, why, now)
    } else if (config.prefix === null) {
      machine.out.received = message
    } else if (config.broadcast) {
      const reply = prefixMessage(config.prefix)(message)
      machine.out.relay = reply
      echoLater(machine, config, reply, now)
    } else if (!config.stall) {
      echoLater(machine, config, prefixMessage(config.prefix)(message), now)
    }
  } else if (state.phase !== "ended") {
    // Read after a close frame either way: counted, neither echoed nor held to the limits (a close is out already).
    countReceived(state.traffic, message)
  }
  return finish(machine, config)
}

/**
 * A message relayed from another broadcast socket of the room (its sender's echo, prefixed): this socket's echo,
 * with its `delay_ms`, counted towards its `close_after`. Not counted as received.
 *
 * @example
 * ```ts
 * import { connectionConfig, deliver, open } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * // A neighbour's echo, handed over by the room: sent as this socket's own echo.
 * export const relayed = [...deliver(machine, config, "echo: from a neighbour", 10).send] // ["echo: from a neighbour"]
 * ```
 *
 * @since 2.0.0
 */
export const deliver = (
  machine: ConnectionMachine,
  config: ConnectionConfig,
  message: Message,
  now: number
): Output => {
  begin(machine, config, now)
  if (machine.state.phase === "open") echoLater(machine, config, message, now)
  return finish(machine, config)
}

/**
 * A message the application sends (a connection with `prefix` null): sent while the connection is open, and
 * while the peer's close waits for the application's last replies; dropped once the server has sent its close.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, send } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: null,
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * export const sent = [...send(machine, config, "hello", 10).send] // ["hello"]
 * ```
 *
 * @since 2.0.0
 */
export const send = (machine: ConnectionMachine, config: ConnectionConfig, message: Message, now: number): Output => {
  begin(machine, config, now)
  const phase = machine.state.phase
  if (phase === "open" || (phase === "answering" && machine.state.closeCode === null))
    sendMessage(machine, message, now)
  return finish(machine, config)
}

/**
 * The application starts the closing handshake with `frame`: sent while the connection is open, then the wait for
 * the peer's answer (`CLOSE_TIMEOUT_MS` at most); ignored once a close was sent or the peer has closed (its close
 * is answered by the close rules).
 *
 * @example
 * ```ts
 * import { connectionConfig, open, requestClose } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * export const closing = requestClose(machine, config, { code: 4000, reason: "done" }, 10).close
 * // { code: 4000, reason: "done" }; the machine then waits for the peer's answer
 * ```
 *
 * @since 2.0.0
 */
export const requestClose = (
  machine: ConnectionMachine,
  config: ConnectionConfig,
  frame: CloseFrame,
  now: number
): Output => {
  begin(machine, config, now)
  if (machine.state.phase === "open") startClose(machine, config, frame, now)
  return finish(machine, config)
}

/**
 * The application has sent everything it owed the peer: a close answer that waited for it goes out now.
 *
 * @example
 * ```ts
 * import { connectionConfig, drained, open, peerClose } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: null,
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * // The peer closes while the application still answers: its answer waits for the application.
 * peerClose(machine, config, { code: 1000, reason: "bye" }, 10)
 * export const answer = drained(machine, config, 20).close // { code: 1000, reason: "bye" }
 * ```
 *
 * @since 2.0.0
 */
export const drained = (machine: ConnectionMachine, config: ConnectionConfig, now: number): Output => {
  begin(machine, config, now)
  const state = machine.state
  // A stalled socket's answer to the peer's close waits for its idle timeout (`answerWhy` "idle") all the same.
  if (state.phase === "answering" && config.prefix === null && state.answerWhy !== "idle") {
    const last = machine.delayed[machine.delayed.length - 1]
    if (last === undefined) answerNow(machine, now)
    else if (state.deadline === null || last.dueAt < state.deadline) state.deadline = last.dueAt
  }
  return finish(machine, config)
}

/**
 * The application's echo of a message it was handed (`Output.received`), transformed its own way (the stream's
 * prefix): sent as the echo would be, with its `delay_ms` and counted towards its `close_after`; also while the
 * peer's close waits for the application. Nothing for a stalled socket.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, receive, reply } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: null,
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * // The application's own transform of what it was handed, sent as the echo would be.
 * const received = receive(machine, config, "hi", 10).received
 * export const echoed = [...reply(machine, config, `re: ${received}`, 10).send] // ["re: hi"]
 * ```
 *
 * @since 2.0.0
 */
export const reply = (machine: ConnectionMachine, config: ConnectionConfig, message: Message, now: number): Output => {
  begin(machine, config, now)
  const state = machine.state
  if (state.phase === "open" || (state.phase === "answering" && state.closeCode === null)) {
    echoLater(machine, config, message, now)
  }
  return finish(machine, config)
}

/**
 * The fields of a connection's one log line (`connection ended`), the same in every shape: its id and subprotocol,
 * how it ended (`ending`: an `EndReason`), its duration and traffic, the peer's close code (1006 when the connection
 * dropped) and the server's (null when no close frame was sent), then `extra`. Never message contents.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { type ConnectionEnd, logFields } from "websocket-echo/ConnectionMachine"
 *
 * // The echo's own log line, written by a driver of one's own.
 * export const logEnd = (end: ConnectionEnd, connection: string) =>
 *   Effect.logInfo("connection ended").pipe(Effect.annotateLogs(logFields(end, connection, undefined)))
 * ```
 *
 * @since 2.0.0
 */
export const logFields = (
  end: ConnectionEnd,
  connection: string,
  protocol: string | undefined,
  extra?: Record<string, unknown>
): Record<string, unknown> => ({
  connection,
  protocol: protocol ?? null,
  ending: end.why,
  durationMs: end.durationMs,
  messagesIn: end.messagesIn,
  bytesIn: end.bytesIn,
  messagesOut: end.messagesOut,
  bytesOut: end.bytesOut,
  peerCloseCode: end.peerCloseCode,
  closeCode: end.closeCode,
  ...extra
})

/**
 * The peer's close frame at `now`. A drop (`wasClean` false, or 1006 without `wasClean`) ends the connection with
 * no close frame. Otherwise, open: answered by `closeReply` (a 1006 that really was on the wire: 1002) once the
 * echoes of earlier messages are out; stalled: left unanswered until the idle timeout, then 1001; closing: it is
 * the answer to the server's close, and the connection ends. While an answer is owed, only a drop counts: it ends.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, peerClose } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * // Mirrored: { code: 4001, reason: "bye" }
 * export const answer = peerClose(machine, config, { code: 4001, reason: "bye" }, 10).close
 * ```
 *
 * @since 2.0.0
 */
export const peerClose = (
  machine: ConnectionMachine,
  config: ConnectionConfig,
  frame: PeerClose,
  now: number
): Output => {
  begin(machine, config, now)
  const state = machine.state
  const dropped = frame.wasClean === false || (frame.code === ABNORMAL_CLOSURE && frame.wasClean !== true)
  if (state.phase === "open") {
    state.peerCloseCode = frame.code
    if (dropped) end(machine, "transport", now)
    else if (config.stall) {
      answerLater(machine, idleTimeout, "idle", answerDeadlineOfStall(machine, config, now))
    } else {
      // A 1006 that was on the wire (wasClean): a code no endpoint may send.
      const reply =
        frame.code === ABNORMAL_CLOSURE
          ? invalidCloseCode
          : (closeReply({ code: frame.code, reason: frame.reason }) ?? invalidCloseCode)
      const why = reply === invalidCloseCode || reply === closeReasonTooLong ? "protocol-error" : "peer-close"
      const last = machine.delayed[machine.delayed.length - 1]
      // An application answers once it has sent what it owes (`drained`), or at the close timeout.
      if (config.prefix === null) answerLater(machine, reply, why, now + closeTimeoutOf(config))
      else if (last === undefined) closeAndEnd(machine, reply, why, now)
      else answerLater(machine, reply, why, last.dueAt)
    }
  } else if (state.phase === "closing") {
    state.peerCloseCode = frame.code
    end(machine, dropped ? "transport" : "requested", now)
  } else if (state.phase === "answering" && dropped) {
    end(machine, "transport", now)
  }
  return finish(machine, config)
}

/**
 * The transport failed (an `error` event, `webSocketError`, a drop reported without a close): the connection ends
 * with no close frame, logged with the peer's code as 1006 unless it had closed already.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, transportLost } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * export const why = transportLost(machine, config, 10).ended?.why // "transport"
 * ```
 *
 * @since 2.0.0
 */
export const transportLost = (machine: ConnectionMachine, config: ConnectionConfig, now: number): Output => {
  begin(machine, config, now)
  const state = machine.state
  if (state.phase !== "ended") {
    state.peerCloseCode ??= ABNORMAL_CLOSURE
    end(machine, "transport", now)
  }
  return finish(machine, config)
}

/**
 * Time passing: does what is due at `now`, in the order it was due (delayed echoes, pushes, the timed close, the
 * idle timeout, a closing deadline), so a late wake sends what was due before a close, then the close.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, tick } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * // Sixty silent seconds: the idle timeout.
 * export const closed = tick(machine, config, 60_000).close // { code: 1001, reason: "idle timeout" }
 * ```
 *
 * @since 2.0.0
 */
export const tick = (machine: ConnectionMachine, config: ConnectionConfig, now: number): Output => {
  begin(machine, config, now)
  return finish(machine, config)
}

/**
 * Traffic the runtime carried for the socket at `at` without the driver (a Durable Object's automatic answer to
 * `ping`): activity for the idle timeout, not counted in the stats.
 *
 * @example
 * ```ts
 * import { connectionConfig, noteActivity, open } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * // The runtime answered "ping" at 50 s: the idle timeout counts from then.
 * export const wakeAt = noteActivity(machine, config, 50_000, 55_000).nextWakeAt // 110000
 * ```
 *
 * @since 2.0.0
 */
export const noteActivity = (machine: ConnectionMachine, config: ConnectionConfig, at: number, now: number): Output => {
  const traffic = machine.state.traffic
  if (machine.state.phase !== "ended" && at > traffic.lastActivity) traffic.lastActivity = at
  begin(machine, config, now)
  return finish(machine, config)
}

/**
 * The driver stops serving the connection (an interruption, a shutdown, the application's `close`): `frame` (1001
 * `going away` by default) unless a close frame was sent already, and the end.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, stop } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * export const closed = stop(machine, config, 10).close // { code: 1001, reason: "going away" }
 * ```
 *
 * @since 2.0.0
 */
export const stop = (
  machine: ConnectionMachine,
  config: ConnectionConfig,
  now: number,
  frame: CloseFrame = goingAway
): Output => abort(machine, config, frame, "stopped", now)

/**
 * The driver failed while serving the connection: 1011 `internal error` unless a close frame was sent already, and
 * the end.
 *
 * @example
 * ```ts
 * import { connectionConfig, fail, open } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * export const closed = fail(machine, config, 10).close // { code: 1011, reason: "internal error" }
 * ```
 *
 * @since 2.0.0
 */
export const fail = (machine: ConnectionMachine, config: ConnectionConfig, now: number): Output =>
  abort(machine, config, internalError, "internal", now)

/**
 * The driver has sent a step's messages: the output lets go of them, so that a socket does not keep its last echo
 * (up to 32 MiB) alive until its next step. Optional: the next step does it anyway.
 *
 * @example
 * ```ts
 * import { carried, connectionConfig, open, receive } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * declare const socket: WebSocket
 *
 * const out = receive(machine, config, "hi", 10)
 * for (const message of out.send) socket.send(message)
 * carried(out) // the machine no longer holds the echo
 * ```
 *
 * @since 2.0.0
 */
export const carried = (out: Output): void => {
  // Not `length = 0`: V8 then drops the array's storage, and the next push allocates a new one.
  const send = out.send
  while (send.length > 0) send.pop()
}

/**
 * Any input, as one function: for a driver that makes its events a value (the stream's `Stream` of inputs).
 *
 * @example
 * ```ts
 * import { connectionConfig, open, step } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 60_000
 * })
 * const machine = open(config, 0)
 *
 * export const echoed = [...step(machine, config, { _tag: "Message", message: "hi" }, 10).send] // ["echo: hi"]
 * ```
 *
 * @since 2.0.0
 */
export const step = (machine: ConnectionMachine, config: ConnectionConfig, input: Input, now: number): Output => {
  switch (input._tag) {
    case "Message":
      return receive(machine, config, input.message, now)
    case "Deliver":
      return deliver(machine, config, input.message, now)
    case "PeerClose":
      return peerClose(machine, config, input, now)
    case "TransportLost":
      return transportLost(machine, config, now)
    case "Tick":
      return tick(machine, config, now)
    case "Activity":
      return noteActivity(machine, config, input.at, now)
    case "Send":
      return send(machine, config, input.message, now)
    case "RequestClose":
      return requestClose(machine, config, input.frame, now)
    case "Drained":
      return drained(machine, config, now)
    case "Reply":
      return reply(machine, config, input.message, now)
    case "Stop":
      return stop(machine, config, now, input.frame)
    case "Fail":
      return fail(machine, config, now)
  }
}

/**
 * What a Durable Object keeps per socket, as its attachment: the connection's id and agreed subprotocol, how many
 * times an instance of the object was woken for it, the names of its behaviours (for the log line), and its machine's
 * config and state. It is all the connection needs across hibernation, and bounded: `worstCaseAttachment` is its
 * largest.
 *
 * @example
 * ```ts
 * import { type ConnectionAttachment, type ConnectionConfig, open } from "websocket-echo/ConnectionMachine"
 *
 * // What a Durable Object writes with each socket it accepts, before the runtime takes the socket.
 * export const attach = (ws: WebSocket, config: ConnectionConfig) => {
 *   const attachment: ConnectionAttachment = {
 *     id: crypto.randomUUID(),
 *     protocol: null,
 *     wakes: 0,
 *     behaviours: [],
 *     config,
 *     state: open(config, Date.now()).state
 *   }
 *   ws.serializeAttachment(attachment)
 * }
 * ```
 *
 * @since 2.0.0
 */
export interface ConnectionAttachment {
  readonly id: string
  readonly protocol: string | null
  wakes: number
  readonly behaviours: ReadonlyArray<string>
  /** A tapped socket's tap (`?tap=NAME`) and its slot there; absent for an untapped socket. */
  readonly tap?: { readonly name: string; readonly slot: string }
  readonly config: ConnectionConfig
  readonly state: ConnectionState
}

/**
 * A `ConnectionAttachment` with each field at its longest: the longest subprotocol, prefix, push text and reasons,
 * every behaviour named, and the longest numbers. Strings are built to cost the most both in JSON (control
 * characters, escaped to 6 bytes) and in the runtime's V8 serialisation (one character past Latin-1 makes a string
 * two bytes per character). Every number is the longest a JSON number gets. Measured: 10,961 bytes as JSON, 4,408
 * as V8 serialises it. The greeting is not in it: `open` sends it and nothing keeps it; kept, a 1,024-byte one of
 * control characters would take the JSON to 17,104 bytes, over the limit.
 *
 * @example
 * ```ts
 * import { MAX_ATTACHMENT_BYTES, worstCaseAttachment } from "websocket-echo/ConnectionMachine"
 *
 * export const bytes = new TextEncoder().encode(JSON.stringify(worstCaseAttachment())).length // 10833
 * export const fits = bytes < MAX_ATTACHMENT_BYTES // true
 * ```
 *
 * @since 2.0.0
 */
export const worstCaseAttachment = (): ConnectionAttachment => {
  const longest = -2.2250738585072014e-308
  const text = (bytes: number) => `€${"\u0001".repeat(bytes - 3)}`
  const reason = text(MAX_CLOSE_REASON_BYTES)
  return {
    id: "00000000-0000-4000-8000-000000000000",
    protocol: "!".repeat(MAX_SUBPROTOCOL_BYTES),
    wakes: longest,
    behaviours: [...behaviourParameters],
    tap: { name: "!".repeat(64), slot: "00000000-0000-4000-8000-000000000000" },
    config: {
      prefix: text(MAX_PREFIX_BYTES),
      limits: { maxMessageBytes: longest, maxMessagesPerSecond: longest },
      idleTimeoutMs: longest,
      delayMs: longest,
      close: { frame: { code: longest, reason }, afterEchoes: longest, afterMs: longest },
      push: { text: text(MAX_SCENARIO_TEXT_BYTES), everyMs: longest, count: longest },
      stall: false,
      broadcast: false
    },
    state: {
      phase: "answering",
      openedAt: longest,
      traffic: {
        messagesIn: longest,
        bytesIn: longest,
        messagesOut: longest,
        bytesOut: longest,
        lastActivity: longest,
        bucket: { ratePerSecond: longest, tokens: longest, updatedAt: longest }
      },
      echoes: longest,
      pushesLeft: longest,
      pushAt: longest,
      closeAt: longest,
      deadline: longest,
      closeCode: longest,
      peerCloseCode: longest,
      answer: { code: longest, reason },
      answerWhy: "handshake-timeout"
    }
  }
}

// The machine's internals. Each step: `begin` clears the output and does what was due before `now`, the step
// handles its input, `finish` sets the next wake.

/**
 * A message from the peer at `now` is activity before anything falls due in its step. A runtime under load may hand
 * over a message after the idle timeout it arrived within; the peer was not idle, so no idle close goes before it.
 */
const heardFrom = (machine: ConnectionMachine, now: number): void => {
  const traffic = machine.state.traffic
  if (machine.state.phase !== "ended" && now > traffic.lastActivity) traffic.lastActivity = now
}

const begin = (machine: ConnectionMachine, config: ConnectionConfig, now: number): void => {
  const out = machine.out
  carried(out)
  out.close = null
  out.relay = null
  out.received = null
  out.exceeded = null
  out.ended = null
  runDue(machine, config, now)
}

const finish = (machine: ConnectionMachine, config: ConnectionConfig): Output => {
  machine.out.nextWakeAt = nextWakeAt(machine, config)
  return machine.out
}

/** The timed events, in the order they go when due at the same time. */
const ECHO = 0
const PUSH = 1
const CLOSE = 2
const IDLE = 3
const DEADLINE = 4

/**
 * Handles every timed event due at or before `now`, earliest first (ties: echo, push, timed close, idle, deadline),
 * each at its own due time, so that a late wake keeps the order and the counts a timely one would have had.
 */
const runDue = (machine: ConnectionMachine, config: ConnectionConfig, now: number): void => {
  const state = machine.state
  for (;;) {
    const phase = state.phase
    if (phase === "ended") return
    let at = Number.POSITIVE_INFINITY
    let due: typeof ECHO | typeof PUSH | typeof CLOSE | typeof IDLE | typeof DEADLINE = ECHO
    const head = machine.delayed[0]
    if (head !== undefined) at = head.dueAt
    if (phase === "open") {
      if (state.pushAt !== null && state.pushAt < at) {
        at = state.pushAt
        due = PUSH
      }
      if (state.closeAt !== null && state.closeAt < at) {
        at = state.closeAt
        due = CLOSE
      }
      if (config.idleTimeoutMs > 0) {
        const idle = idleAt(state.traffic.lastActivity, config.idleTimeoutMs)
        if (idle < at) {
          at = idle
          due = IDLE
        }
      }
    } else if (state.deadline !== null && state.deadline < at) {
      at = state.deadline
      due = DEADLINE
    }
    if (at > now) return
    switch (due) {
      case ECHO:
        machine.delayed.shift()
        echo(machine, config, (head as DelayedEcho).message, at)
        // The echo's own close answer goes with its last delayed echo; an application's waits for `drained`.
        if (state.phase === "answering" && machine.delayed.length === 0 && !config.stall && config.prefix !== null) {
          answerNow(machine, now)
        }
        break
      case PUSH:
        pushNow(machine, config, at)
        break
      case CLOSE:
        startClose(machine, config, (config.close as ScenarioClose).frame, at)
        break
      case IDLE:
        closeAndEnd(machine, idleTimeout, "idle", now)
        break
      case DEADLINE:
        if (phase === "closing") end(machine, "handshake-timeout", now)
        else answerNow(machine, now)
        break
    }
  }
}

const nextWakeAt = (machine: ConnectionMachine, config: ConnectionConfig): number | null => {
  const state = machine.state
  if (state.phase === "ended") return null
  let at = machine.delayed[0]?.dueAt ?? Number.POSITIVE_INFINITY
  if (state.phase === "open") {
    if (state.pushAt !== null && state.pushAt < at) at = state.pushAt
    if (state.closeAt !== null && state.closeAt < at) at = state.closeAt
    if (config.idleTimeoutMs > 0) at = Math.min(at, idleAt(state.traffic.lastActivity, config.idleTimeoutMs))
  } else if (state.deadline !== null && state.deadline < at) at = state.deadline
  return at === Number.POSITIVE_INFINITY ? null : at
}

const sendMessage = (machine: ConnectionMachine, message: Message, at: number): void => {
  machine.out.send.push(message)
  countSent(machine.state.traffic, message, at)
}

/** An echo (own or relayed) of an open socket: now, or queued for its delay; nothing for a stalled socket. */
const echoLater = (machine: ConnectionMachine, config: ConnectionConfig, reply: Message, now: number): void => {
  if (config.stall) return
  if (config.delayMs === 0) echo(machine, config, reply, now)
  else machine.delayed.push({ dueAt: now + config.delayMs, message: reply })
}

/** Sends an echo; the `close_after`-th is followed by the close asked for (only while open: an answer is owed). */
const echo = (machine: ConnectionMachine, config: ConnectionConfig, reply: Message, at: number): void => {
  sendMessage(machine, reply, at)
  const state = machine.state
  state.echoes++
  if (state.phase === "open" && config.close !== null && state.echoes >= closeAfterEchoes(config.close)) {
    startClose(machine, config, config.close.frame, at)
  }
}

const pushNow = (machine: ConnectionMachine, config: ConnectionConfig, at: number): void => {
  const state = machine.state
  const push = config.push as ScenarioPush
  sendMessage(machine, push.text, at)
  state.pushesLeft--
  state.pushAt = state.pushesLeft > 0 ? at + push.everyMs : null
}

/** A close the server starts (the scenario's, or the application's): sent, then the wait for the peer's answer. */
const startClose = (machine: ConnectionMachine, config: ConnectionConfig, frame: CloseFrame, at: number): void => {
  const state = machine.state
  sendClose(machine, frame)
  state.phase = "closing"
  state.pushAt = null
  state.closeAt = null
  state.deadline = at + closeTimeoutOf(config)
}

/** How long a close waits for the other side: the idle timeout, capped at `CLOSE_TIMEOUT_MS`. */
const closeTimeoutOf = (config: ConnectionConfig): number =>
  config.idleTimeoutMs > 0 ? Math.min(config.idleTimeoutMs, CLOSE_TIMEOUT_MS) : CLOSE_TIMEOUT_MS

/** Nothing is sent after a close frame: the delayed echoes are dropped with it. */
const sendClose = (machine: ConnectionMachine, frame: CloseFrame): void => {
  machine.out.close = frame
  machine.state.closeCode = frame.code
  machine.delayed.length = 0
}

const answerLater = (machine: ConnectionMachine, answer: CloseFrame, why: EndReason, deadline: number): void => {
  const state = machine.state
  state.phase = "answering"
  state.answer = answer
  state.answerWhy = why
  state.deadline = deadline
  state.pushAt = null
  state.closeAt = null
}

/** A stalled socket answers the peer's close at its idle timeout, from the last message either way. */
const answerDeadlineOfStall = (machine: ConnectionMachine, config: ConnectionConfig, now: number): number =>
  config.idleTimeoutMs > 0 ? idleAt(machine.state.traffic.lastActivity, config.idleTimeoutMs) : now + CLOSE_TIMEOUT_MS

const answerNow = (machine: ConnectionMachine, now: number): void => {
  const state = machine.state
  closeAndEnd(machine, state.answer as CloseFrame, state.answerWhy as EndReason, now)
}

const abort = (
  machine: ConnectionMachine,
  config: ConnectionConfig,
  frame: CloseFrame,
  why: EndReason,
  now: number
): Output => {
  begin(machine, config, now)
  if (machine.state.phase !== "ended") closeAndEnd(machine, frame, why, now)
  return finish(machine, config)
}

/** Sends `frame` unless a close frame was sent already, and ends. */
const closeAndEnd = (machine: ConnectionMachine, frame: CloseFrame, why: EndReason, now: number): void => {
  if (machine.state.closeCode === null) sendClose(machine, frame)
  end(machine, why, now)
}

const end = (machine: ConnectionMachine, why: EndReason, now: number): void => {
  const state = machine.state
  const traffic = state.traffic
  state.phase = "ended"
  state.pushAt = null
  state.closeAt = null
  state.deadline = null
  state.answer = null
  state.answerWhy = null
  machine.delayed.length = 0
  machine.out.ended = {
    why,
    durationMs: now - state.openedAt,
    messagesIn: traffic.messagesIn,
    bytesIn: traffic.bytesIn,
    messagesOut: traffic.messagesOut,
    bytesOut: traffic.bytesOut,
    peerCloseCode: state.peerCloseCode,
    closeCode: state.closeCode
  }
}
