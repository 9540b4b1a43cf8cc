import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import type { CloseFrame } from "../domain/CloseFrame.js"
import type { RequestInfo } from "../domain/RequestInfo.js"
import type { Scenario, ScenarioClose, ScenarioPush } from "../domain/Scenario.js"
import type { Limits, Traffic } from "../domain/Traffic.js"
import { makeTraffic } from "../domain/Traffic.js"
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
}

/**
 * What a socket's scenario needs after the upgrade, kept in its attachment: when its pushes and its close are
 * due, and how many echoes it has sent.
 */
export interface RoomBehaviour {
  readonly behaviours: ReadonlyArray<string>
  readonly delayMs: number
  readonly close: ScenarioClose | undefined
  readonly push: ScenarioPush | undefined
  readonly stall: boolean
  readonly broadcast: boolean
  /** Echoes sent so far, for `close_after`. */
  echoes: number
  pushesLeft: number
  /** When the next push is due (ms); 0 for none. */
  pushAt: number
  /** When the timed close is due (ms); 0 for none. */
  closeAt: number
  /** The close frame this socket was sent on request, once it was. */
  closeSent: CloseFrame | undefined
}

/**
 * What a socket of a room keeps across hibernation, as its attachment: its
 * plan, its id, when it opened, its traffic, how many times its object was
 * woken for it, and whether it has ended. Nothing else about a socket lives in
 * the object.
 */
export interface RoomSocket extends Omit<SocketPlan, "scenario" | "info" | "maxSockets" | "room"> {
  readonly id: string
  readonly openedAt: number
  readonly traffic: Traffic
  wakes: number
  /** Set once the connection has ended (and was logged). */
  ended: boolean
  /** The scenario's state; null for the echo alone. */
  readonly behaviour: RoomBehaviour | null
}

/** The request header that carries the plan from the Worker to the room. */
const PLAN_HEADER = "x-echo-socket-plan"

/** JSON that a header can carry: a header value is bytes, so every character past ASCII is escaped. */
const headerJson = (value: unknown): string =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`)

/** The Durable Object namespace of the rooms, as a service: where the Worker sends each upgrade. */
export class EchoRooms extends Context.Tag("websocket-echo/EchoRooms")<
  EchoRooms,
  {
    /**
     * Sends an upgrade that passed every check to a room: the one named `room`,
     * or a new one for this socket alone. Answers with the room's 101.
     */
    readonly open: (request: Request, plan: SocketPlan, room: string | undefined) => Effect.Effect<Response>
  }
>() {
  /** The rooms of a Durable Object namespace binding. */
  static readonly layer = (namespace: DurableObjectNamespace): Layer.Layer<EchoRooms> =>
    Layer.succeed(EchoRooms, {
      open: (request, plan, room) =>
        Effect.promise(() => {
          const id = room === undefined ? namespace.newUniqueId() : namespace.idFromName(room)
          const headers = new Headers(request.headers)
          headers.set(PLAN_HEADER, headerJson(plan))
          return namespace.get(id).fetch(request.url, { method: "GET", headers })
        })
    })
}

/** The plan the Worker sent with an upgrade to a room. */
export const planOf = (request: Request): SocketPlan => {
  const plan = JSON.parse(request.headers.get(PLAN_HEADER) ?? "null") as SocketPlan | null
  if (plan === null) throw new Error(`a room takes only upgrades sent by the Worker, with ${PLAN_HEADER}`)
  return plan
}

/** The tag of a room's broadcast sockets (`ctx.getWebSockets(BROADCAST)`). */
export const BROADCAST = "broadcast"

const behaviourOf = (scenario: Scenario | undefined, now: number): RoomBehaviour | null => {
  if (scenario === undefined) return null
  const { behaviours, delayMs, close, push, stall, broadcast } = scenario
  return {
    behaviours,
    delayMs,
    close,
    push,
    stall,
    broadcast,
    echoes: 0,
    pushesLeft: push?.count ?? 0,
    pushAt: push === undefined ? 0 : now + push.everyMs,
    closeAt: close?.afterMs === undefined ? 0 : now + close.afterMs,
    closeSent: undefined
  }
}

/**
 * Inside a room: creates the socket pair, hands the server end to the runtime
 * as a hibernatable socket (tagged `BROADCAST` for a broadcast) with its
 * attachment, and returns the 101 with the server end and its attachment.
 */
export const acceptInRoom = (
  ctx: DurableObjectState,
  { scenario, info: _info, maxSockets: _maxSockets, room: _room, ...plan }: SocketPlan,
  now: number
): { readonly response: Response; readonly server: WebSocket; readonly socket: RoomSocket } => {
  const { server, response } = socketPair(plan.protocol)
  const socket: RoomSocket = {
    ...plan,
    id: crypto.randomUUID(),
    openedAt: now,
    traffic: makeTraffic(plan.limits, now),
    wakes: 0,
    ended: false,
    behaviour: behaviourOf(scenario, now)
  }
  ctx.acceptWebSocket(server, scenario?.broadcast === true ? [BROADCAST] : [])
  server.serializeAttachment(socket)
  return { response, server, socket }
}
