import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
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
}

/**
 * What a socket of a room keeps across hibernation, as its attachment: its
 * plan, its id, when it opened, its traffic, how many times its object was
 * woken for it, and whether it has ended. Nothing else about a socket lives in
 * the object.
 */
export interface RoomSocket extends SocketPlan {
  readonly id: string
  readonly openedAt: number
  readonly traffic: Traffic
  wakes: number
  /** Set once the connection has ended (and was logged). */
  ended: boolean
}

/** The request header that carries the plan from the Worker to the room. */
const PLAN_HEADER = "x-echo-socket-plan"

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
          headers.set(PLAN_HEADER, JSON.stringify(plan))
          return namespace.get(id).fetch(request.url, { method: "GET", headers })
        })
    })
}

/**
 * Inside a room: creates the socket pair, hands the server end to the runtime
 * as a hibernatable socket with its attachment, and returns the 101 with the
 * server end and its attachment.
 */
export const acceptInRoom = (
  ctx: DurableObjectState,
  request: Request,
  now: number
): { readonly response: Response; readonly server: WebSocket; readonly socket: RoomSocket } => {
  const plan = JSON.parse(request.headers.get(PLAN_HEADER) ?? "null") as SocketPlan | null
  if (plan === null) throw new Error(`a room takes only upgrades sent by the Worker, with ${PLAN_HEADER}`)
  const { server, response } = socketPair(plan.protocol)
  const socket: RoomSocket = {
    ...plan,
    id: crypto.randomUUID(),
    openedAt: now,
    traffic: makeTraffic(plan.limits, now),
    wakes: 0,
    ended: false
  }
  ctx.acceptWebSocket(server)
  server.serializeAttachment(socket)
  return { response, server, socket }
}
