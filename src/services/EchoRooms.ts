import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { ConnectionAttachment } from "../domain/ConnectionMachine.js"
import { RoomUnavailable } from "../domain/HttpError.js"
import type { RequestInfo } from "../domain/RequestInfo.js"
import type { Scenario } from "../domain/Scenario.js"
import type { Limits } from "../domain/Traffic.js"
import { socketPair } from "./WebSocketService.js"

/** What the Worker hands to a room with each socket: everything the socket is echoed with. */
export interface SocketPlan {
  readonly prefix: string
  readonly limits: Limits
  /** 0 for no idle timeout. */
  readonly idleTimeoutMs: number
  readonly protocol: string | undefined
  /** The room's name, for a named room. */
  readonly room?: string | undefined
  /** The most sockets the room may hold: `MAX_ROOM_SOCKETS`. */
  readonly maxSockets: number
  /** What the client asked for besides the echo; absent for the echo alone. */
  readonly scenario?: Scenario
  /** What `info=true` reports. */
  readonly info?: RequestInfo | undefined
  /** The tap the socket's events go to (`?tap=NAME`), admitted there by the Worker. */
  readonly tap?: SocketTap | undefined
}

/** A tapped socket's tap: its name, the socket's slot in it, and the request its `open` event shows. */
export interface SocketTap {
  readonly name: string
  readonly slot: string
  readonly request: RequestInfo
}

/** The request header that carries the plan from the Worker to the room. */
const PLAN_HEADER = "x-echo-socket-plan"

/** JSON that a header can carry: a header value is bytes, so every character past ASCII is escaped. */
const headerJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)

/**
 * The Durable Object namespace of the rooms, as a service: where the Worker sends each upgrade.
 *
 * @example
 * ```ts
 * import * as HttpRouter from "@effect/platform/HttpRouter"
 * import * as Effect from "effect/Effect"
 * import * as Layer from "effect/Layer"
 * import { EchoRooms } from "websocket-echo/EchoRooms"
 * import { EchoConfig, EchoRouter } from "websocket-echo/EchoServer"
 * import { toFetchHandler, WorkerEnv } from "websocket-echo/Workers"
 *
 * export { EchoRoom } from "websocket-echo/EchoRooms"
 *
 * // Rooms from the namespace bound as ECHO_ROOMS, built once per isolate with the Worker's env:
 * // `/echo?room=lobby&broadcast=true` then shares the lobby instead of getting 501 ROOMS_UNAVAILABLE.
 * const Rooms = Layer.unwrapEffect(Effect.map(WorkerEnv, (env) => EchoRooms.layer(env.ECHO_ROOMS)))
 * const app = HttpRouter.empty.pipe(HttpRouter.concat(EchoRouter))
 *
 * export default toFetchHandler(app, Layer.merge(EchoConfig.layerWith({ testBehaviours: true }), Rooms))
 * ```
 *
 * @since 2.0.0
 */
export class EchoRooms extends Context.Tag("websocket-echo/EchoRooms")<
  EchoRooms,
  {
    /**
     * Sends an upgrade that passed every check to a room: the one named `room`,
     * or a new one for this socket alone. Answers with the room's response (its 101, or its refusal); fails
     * with `RoomUnavailable` (503, retryable) when the Durable Object cannot be reached.
     */
    readonly open: (
      request: Request,
      plan: SocketPlan,
      room: string | undefined
    ) => Effect.Effect<Response, RoomUnavailable>
  }
>() {
  /** The rooms of a Durable Object namespace binding. */
  static readonly layer = (namespace: DurableObjectNamespace): Layer.Layer<EchoRooms> =>
    Layer.succeed(EchoRooms, roomsOf(namespace))
}

/** The rooms of a Durable Object namespace binding: what `EchoRooms.layer` provides, for a context built by hand. */
export const roomsOf = (namespace: DurableObjectNamespace): Context.Tag.Service<EchoRooms> => ({
  open: (request, plan, room) =>
    Effect.tryPromise({
      try: () => {
        const id = room === undefined ? namespace.newUniqueId() : namespace.idFromName(room)
        return namespace.get(id).fetch(request.url, roomInit(request, plan))
      },
      catch: (cause) => new RoomUnavailable({ cause })
    })
})

/**
 * How a room is asked for an upgrade: the client's request as a GET, with the plan the Worker made for it (handed
 * to `fetch` with the URL: building a `Request` of it first costs the upgrade a copy of every header).
 */
export const roomInit = (request: Request, plan: SocketPlan): RequestInit => {
  const headers = new Headers(request.headers)
  headers.set(PLAN_HEADER, headerJson(plan))
  return { method: "GET", headers }
}

/** The plan the Worker sent with an upgrade to a room. */
export const planOf = (request: Request): SocketPlan => {
  const plan = JSON.parse(request.headers.get(PLAN_HEADER) ?? "null") as SocketPlan | null
  if (plan === null) throw new Error(`a room takes only upgrades sent by the Worker, with ${PLAN_HEADER}`)
  return plan
}

/** The tag of a room's broadcast sockets (`ctx.getWebSockets(BROADCAST)`). */
export const BROADCAST = "broadcast"

/**
 * Inside a room: creates the socket pair, writes the server end's attachment, then hands the server end to the
 * runtime as a hibernatable socket (tagged `BROADCAST` for a broadcast), and returns the 101 with the server end.
 * The attachment goes first: `serializeAttachment` works before `acceptWebSocket` (measured in workerd), so a write
 * that throws leaves no socket in the room, and the caller refuses the upgrade with nothing half-accepted.
 */
export const acceptInRoom = (
  ctx: DurableObjectState,
  attachment: ConnectionAttachment
): { readonly response: Response; readonly server: WebSocket } => {
  const { server, response } = socketPair(attachment.protocol ?? undefined)
  server.serializeAttachment(attachment)
  ctx.acceptWebSocket(server, attachment.config.broadcast ? [BROADCAST] : [])
  return { response, server }
}

/** What is wrong with a socket's attachment when the room cannot drive it: there is none, or it is not ours. */
export type AttachmentProblem = "missing" | "foreign"

/**
 * A socket's attachment, when it is a `ConnectionAttachment`; otherwise what is wrong with it. Never throws: a
 * socket accepted by other code, or by an older version of this one, must not take its room down.
 */
export const attachmentOf = (ws: WebSocket): ConnectionAttachment | AttachmentProblem => {
  let value: unknown
  try {
    value = ws.deserializeAttachment()
  } catch {
    return "foreign"
  }
  if (value === null || value === undefined) return "missing"
  return isConnectionAttachment(value) ? value : "foreign"
}

const PHASES: ReadonlyArray<unknown> = ["open", "closing", "answering", "ended"]

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const isNumber = (value: unknown): value is number => typeof value === "number"

/**
 * Whether a value has the shape of a `ConnectionAttachment`, as far as the connection machine reads it: the
 * fields of the attachment, of its config and of its state, each of its type.
 */
export const isConnectionAttachment = (value: unknown): value is ConnectionAttachment => {
  if (!isRecord(value)) return false
  const { id, protocol, wakes, behaviours, config, state } = value
  if (typeof id !== "string" || (protocol !== null && typeof protocol !== "string") || !isNumber(wakes)) return false
  if (!Array.isArray(behaviours) || !isRecord(config) || !isRecord(state)) return false
  const { limits, close, push } = config
  const configured =
    (config.prefix === null || typeof config.prefix === "string") &&
    isRecord(limits) &&
    isNumber(limits.maxMessageBytes) &&
    isNumber(limits.maxMessagesPerSecond) &&
    isNumber(config.idleTimeoutMs) &&
    isNumber(config.delayMs) &&
    (close === null || (isRecord(close) && isRecord(close.frame) && isNumber(close.frame.code))) &&
    (push === null || (isRecord(push) && typeof push.text === "string" && isNumber(push.everyMs))) &&
    typeof config.stall === "boolean" &&
    typeof config.broadcast === "boolean"
  const { traffic } = state
  return (
    configured &&
    PHASES.includes(state.phase) &&
    isNumber(state.openedAt) &&
    isRecord(traffic) &&
    isNumber(traffic.messagesIn) &&
    isNumber(traffic.lastActivity) &&
    (traffic.bucket === null || isRecord(traffic.bucket)) &&
    isNumber(state.echoes) &&
    isNumber(state.pushesLeft)
  )
}
