import { env, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test"
import * as Effect from "effect/Effect"
import * as HashMap from "effect/HashMap"
import * as Logger from "effect/Logger"
import { describe, expect, it } from "vitest"
import type { ConnectionAttachment } from "../../src/domain/ConnectionMachine.js"
import { EchoRoom } from "../../src/runtime/EchoRoom.js"
import { roomInit, type SocketPlan } from "../../src/services/EchoRooms.js"
import { bytesOf, type Client, connect, serviceWith } from "./socket.js"

const PREFIX = [...new TextEncoder().encode("echo: ")]
const room = (name: string) => env.ECHO_ROOMS.get(env.ECHO_ROOMS.idFromName(name))
const attachments = (name: string) =>
  runInDurableObject(room(name), (_, state) =>
    state.getWebSockets().map((ws) => ws.deserializeAttachment() as ConnectionAttachment)
  )
const unique = () => crypto.randomUUID().slice(0, 8)

interface LogLine {
  readonly level: string
  readonly message: string
  readonly fields: Record<string, unknown>
}

/**
 * The room as the runtime constructs it after hibernation, in the same object as the live instance, with its log
 * lines kept for the test (the runtime's own instance writes them to the console, below the tests' log level).
 */
class Observed extends EchoRoom {
  readonly lines: Array<LogLine> = []
  protected override log(line: Effect.Effect<void>): Promise<void> {
    const kept = Logger.make(({ logLevel, message, annotations }) => {
      const text = Array.isArray(message) ? message.join(" ") : String(message)
      this.lines.push({
        level: logLevel.label,
        message: text,
        fields: Object.fromEntries(HashMap.toEntries(annotations))
      })
    })
    return Effect.runPromise(Effect.provide(line, Logger.replace(Logger.defaultLogger, kept)))
  }
}

/** A `connection ended` line with these fields (among the others). */
const ended = (fields: Record<string, unknown>) =>
  expect.objectContaining({ level: "INFO", message: "connection ended", fields: expect.objectContaining(fields) })

/** The plan the Worker makes for a plain socket of `name`, with wrangler.toml's settings. */
const planFor = (name: string): SocketPlan => ({
  prefix: "echo: ",
  limits: { maxMessageBytes: 1_048_576, maxMessagesPerSecond: 0 },
  idleTimeoutMs: 600_000,
  protocol: undefined,
  room: name,
  maxSockets: 100
})

/** Connects one client per subprotocol, which tells their sockets apart in the room. */
const connectAs = (path: string, protocols: Array<string>): Promise<Array<Client>> =>
  Promise.all(protocols.map((protocol) => connect(path, { "Sec-WebSocket-Protocol": protocol })))

/** The room's socket whose client agreed on `protocol`. */
const socketOf = (state: DurableObjectState, protocol: string): WebSocket => {
  const ws = state
    .getWebSockets()
    .find((socket) => (socket.deserializeAttachment() as ConnectionAttachment | null)?.protocol === protocol)
  if (ws === undefined) throw new Error(`no socket with the subprotocol ${protocol} in the room`)
  return ws
}

/** Gives the "foreign" socket an attachment of an older shape, and the "missing" one none. */
const corrupt = (state: DurableObjectState): void => {
  const [foreign, missing] = [socketOf(state, "foreign"), socketOf(state, "missing")]
  foreign.serializeAttachment({ id: "old", prefix: "echo: ", traffic: {}, behaviour: null })
  missing.serializeAttachment(null)
}

/** The error lines of the "foreign" and "missing" sockets, refused for their attachments, in either order. */
const refusedBoth = (lines: ReadonlyArray<LogLine>) => {
  const refused = (attachment: string) => ({
    level: "ERROR",
    message: "room socket without an attachment of ours, closed with 1011",
    fields: { attachment, closeCode: 1011 }
  })
  expect(lines).toHaveLength(2)
  expect(lines).toEqual(expect.arrayContaining([refused("foreign"), refused("missing")]))
}

/**
 * The attachments of a room once their traffic counts `messagesIn` for the first socket: the object writes
 * changed attachments together, a second after the change (and before it can hibernate).
 */
const attachmentsWritten = async (name: string, messagesIn: number) => {
  const deadline = Date.now() + 5_000
  let sockets = await attachments(name)
  while (sockets[0]?.state.traffic.messagesIn !== messagesIn && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    sockets = await attachments(name)
  }
  return sockets
}

describe.runIf(env.ECHO_BACKEND === "durable-object")("the EchoRoom Durable Object", () => {
  it("echoes text and binary, and keeps the socket's machine config and state and its subprotocol in its attachment", async () => {
    const client = await connect("/echo?room=plain", { "Sec-WebSocket-Protocol": "chat" })
    client.socket.send("hello")
    expect(await client.next()).toBe("echo: hello")
    client.socket.send(new Uint8Array([1, 2, 3]))
    expect(bytesOf(await client.next())).toEqual([...PREFIX, 1, 2, 3])
    const [socket] = await attachmentsWritten("plain", 2)
    expect(Object.keys(socket ?? {}).sort()).toEqual(["behaviours", "config", "id", "protocol", "state", "wakes"])
    expect(socket).toMatchObject({
      protocol: "chat",
      wakes: 0,
      behaviours: [],
      config: {
        prefix: "echo: ",
        limits: { maxMessageBytes: 1_048_576, maxMessagesPerSecond: 0 },
        idleTimeoutMs: 600_000
      },
      state: { phase: "open", traffic: { messagesIn: 2, bytesIn: 8, messagesOut: 2, bytesOut: 20, bucket: null } }
    })
    expect(socket?.id).toMatch(/^[0-9a-f-]{36}$/)
    expect(await client.close(4001, "bye")).toEqual({ code: 4001, reason: "bye", wasClean: true })
  })

  it("puts sockets of one ?room=NAME on one object, and every other socket on an object of its own", async () => {
    const before = (await listDurableObjectIds(env.ECHO_ROOMS)).length
    const shared = [await connect("/echo?room=shared"), await connect("/echo?room=shared")]
    expect((await attachments("shared")).length).toBe(2)
    const alone = [await connect(), await connect()]
    expect((await listDurableObjectIds(env.ECHO_ROOMS)).length).toBe(before + 3)
    for (const client of [...shared, ...alone]) await client.close(1000)
  })

  it("refuses a room name that is not one, with 400 JSON before any socket exists", async () => {
    const response = await serviceWith({})(
      new Request("http://echo.test/echo?room=no%20spaces", { headers: { Upgrade: "websocket" } })
    )
    expect(response.status).toBe(400)
    expect(await response.json()).toEqual({
      error: 'room must be 1 to 64 letters, digits, dots, dashes or underscores, got "no spaces"',
      code: "INVALID_ROOM"
    })
  })

  it("goes on from the attachment in a freshly constructed instance, as after hibernation", async () => {
    const client = await connect("/echo?room=woken")
    client.socket.send("before")
    expect(await client.next()).toBe("echo: before")
    // The runtime hibernates an object only once its timers have run: its attachments are written by then.
    await attachmentsWritten("woken", 1)
    await runInDurableObject(room("woken"), async (_, state) => {
      const [ws] = state.getWebSockets()
      // A new instance knows nothing but what the runtime kept: the sockets and their attachments.
      const fresh = new EchoRoom(state, env)
      await fresh.webSocketMessage(ws as WebSocket, "after")
    })
    expect(await client.next()).toBe("echo: after")
    const [socket] = await attachmentsWritten("woken", 2)
    expect(socket).toMatchObject({ wakes: 1, state: { traffic: { messagesIn: 2, messagesOut: 2 } } })
    expect(await client.close(1000, "done")).toEqual({ code: 1000, reason: "done", wasClean: true })
  })

  it("sets an alarm for the idle timeout, and the alarm closes a socket silent for that long with 1001", async () => {
    const client = await connect("/echo?room=idle")
    await runInDurableObject(room("idle"), async (_, state) => {
      expect(await state.storage.getAlarm()).not.toBeNull()
      // Ten minutes and a second of silence, as the attachment would read then.
      const [ws] = state.getWebSockets()
      const socket = ws?.deserializeAttachment() as ConnectionAttachment
      socket.state.traffic.lastActivity -= 601_000
      ws?.serializeAttachment(socket)
      await new EchoRoom(state, env).alarm()
    })
    expect(await client.whenClosed()).toEqual({ code: 1001, reason: "idle timeout", wasClean: true })
    // A socket that is not idle stays open when the alarm runs, and is echoed after it.
    const busy = await connect("/echo?room=idle")
    expect(await runDurableObjectAlarm(room("idle"))).toBe(true)
    busy.socket.send("still here")
    expect(await busy.next()).toBe("echo: still here")
    await busy.close(1000)
  })

  it("writes the attachments of a burst once, a second after it, counting every message", async () => {
    const client = await connect("/echo?room=burst")
    for (let i = 0; i < 50; i++) client.socket.send(`m${i}`)
    for (let i = 0; i < 50; i++) expect(await client.next()).toBe(`echo: m${i}`)
    const [socket] = await attachmentsWritten("burst", 50)
    expect(socket?.state.traffic).toMatchObject({ messagesIn: 50, messagesOut: 50 })
    await client.close(1000)
  })

  it("sends, on a late alarm, the pushes that were due before the timed close, then the close", async () => {
    const client = await connect("/echo?room=late&push=p&push_every_ms=1000&push_count=3&close_after_ms=2500")
    await runInDurableObject(room("late"), async (_, state) => {
      // Three seconds late: the pushes due at 1 s and 2 s came before the close at 2.5 s; the one at 3 s did not.
      const [ws] = state.getWebSockets()
      const socket = ws?.deserializeAttachment() as ConnectionAttachment & {
        state: { pushAt: number; closeAt: number }
      }
      socket.state.pushAt -= 3_000
      socket.state.closeAt -= 3_000
      ws?.serializeAttachment(socket)
      await new EchoRoom(state, env).alarm()
    })
    expect([await client.next(), await client.next()]).toEqual(["p", "p"])
    const closed = await client.whenClosed()
    expect({ code: closed.code, reason: closed.reason }).toEqual({ code: 1000, reason: "" })
    expect(client.unread).toBe(0)
    client.socket.close(1000)
  })

  it('answers the text "ping" as the echo would, from the runtime, without waking the object', async () => {
    const client = await connect("/echo?room=ping")
    client.socket.send("ping")
    expect(await client.next()).toBe("echo: ping")
    const [socket] = await attachments("ping")
    expect(socket?.state.traffic.messagesIn).toBe(0)
    await client.close(1000)
  })

  it("closes a socket whose attachment is missing or not ours with 1011 and logs it, and the room goes on", async () => {
    const name = `foreign-${unique()}`
    const [foreign, missing, sender, receiver] = await connectAs(`/echo?room=${name}&broadcast=true`, [
      "foreign",
      "missing",
      "sender",
      "receiver"
    ])
    const lines = await runInDurableObject(room(name), async (_, state) => {
      corrupt(state)
      // A woken instance relays a broadcast past both, and its alarm goes on.
      const woken = new Observed(state, env)
      await woken.webSocketMessage(socketOf(state, "sender"), "to all")
      await woken.webSocketMessage(socketOf(state, "receiver"), "and back")
      await woken.alarm()
      return woken.lines
    })
    expect(await foreign.whenClosed()).toMatchObject({ code: 1011, reason: "internal error" })
    expect(await missing.whenClosed()).toMatchObject({ code: 1011, reason: "internal error" })
    for (const client of [sender, receiver])
      expect([await client.next(), await client.next()]).toEqual(["echo: to all", "echo: and back"])
    refusedBoth(lines)
    // The runtime's own instance takes new sockets. (It relays no broadcast here: it did not see the attachments
    // change, and would send to the two sockets its sibling closed, which only a test can make.)
    const later = await connect(`/echo?room=${name}`)
    later.socket.send("hi")
    expect(await later.next()).toBe("echo: hi")
  })

  it("defect: a socket without an attachment of ours takes no later upgrade down", async () => {
    const name = `foreign-upgrade-${unique()}`
    const [foreign, missing, healthy] = await connectAs(`/echo?room=${name}`, ["foreign", "missing", "healthy"])
    const upgraded = await runInDurableObject(room(name), async (_, state) => {
      corrupt(state)
      // An instance woken by an upgrade meets them when it looks for sockets with behaviours.
      const woken = new Observed(state, env)
      const request = new Request(`http://echo.test/echo?room=${name}`, { headers: { Upgrade: "websocket" } })
      const response = await woken.fetch(new Request(request.url, roomInit(request, planFor(name))))
      response.webSocket?.accept()
      response.webSocket?.close(1000)
      await woken.webSocketMessage(socketOf(state, "healthy"), "after")
      return { status: response.status, lines: woken.lines }
    })
    expect(upgraded.status).toBe(101)
    refusedBoth(upgraded.lines)
    expect(await foreign.whenClosed()).toMatchObject({ code: 1011, reason: "internal error" })
    expect(await missing.whenClosed()).toMatchObject({ code: 1011, reason: "internal error" })
    expect(await healthy.next()).toBe("echo: after")
    healthy.socket.send("and on")
    expect(await healthy.next()).toBe("echo: and on")
  })

  it("after a 1009 sends nothing more and logs once, though more messages arrive in the same turn", async () => {
    const tooBig = "x".repeat(1_048_577)
    // Through the runtime: the frames after the big one are in flight when the object closes.
    const name = `too-big-${unique()}`
    const client = await connect(`/echo?room=${name}`)
    for (const message of [tooBig, "after", "and after"]) client.socket.send(message)
    expect(await client.whenClosed()).toMatchObject({ code: 1009, reason: "message too big" })
    expect(client.unread).toBe(0)
    // In a woken instance, whose log lines the test reads: three messages in one turn.
    const other = `too-big-${unique()}`
    const woken = await connect(`/echo?room=${other}`)
    const lines = await runInDurableObject(room(other), async (_, state) => {
      const [ws] = state.getWebSockets() as [WebSocket]
      const instance = new Observed(state, env)
      await Promise.all([tooBig, "after", "and after"].map((message) => instance.webSocketMessage(ws, message)))
      return instance.lines
    })
    expect(await woken.whenClosed()).toMatchObject({ code: 1009, reason: "message too big" })
    expect(woken.unread).toBe(0)
    expect(lines).toEqual([ended({ ending: "too-big", messagesIn: 0, messagesOut: 0, closeCode: 1009 })])
  })

  it("logs a peer that dropped without a close frame, or a failed socket, as a lost transport, and closes neither", async () => {
    const name = `dropped-${unique()}`
    const [dropped, failed] = [await connect(`/echo?room=${name}`), await connect(`/echo?room=${name}`)]
    const outcome = await runInDurableObject(room(name), async (_, state) => {
      const [droppedWs, failedWs] = state.getWebSockets() as [WebSocket, WebSocket]
      const instance = new Observed(state, env)
      // What the runtime reports when the peer's TCP connection goes without a close frame, and when it fails.
      await instance.webSocketClose(droppedWs, 1006, "WebSocket disconnected without sending Close frame.", false)
      await instance.webSocketError(failedWs, new Error("Network connection lost."))
      return { lines: instance.lines, readyStates: [droppedWs.readyState, failedWs.readyState] }
    })
    const lost = ended({ ending: "transport", peerCloseCode: 1006, closeCode: null })
    expect(outcome).toEqual({ lines: [lost, lost], readyStates: [WebSocket.OPEN, WebSocket.OPEN] })
    for (const client of [dropped, failed]) await client.close(1000)
  })

  it("answers a close whose reason is over 123 bytes with 1002 (the runtime's own client refuses to send one)", async () => {
    const name = `long-reason-${unique()}`
    const client = await connect(`/echo?room=${name}`)
    expect(() => client.socket.close(4000, "r".repeat(124))).toThrow(/123 bytes/)
    const lines = await runInDurableObject(room(name), async (_, state) => {
      const [ws] = state.getWebSockets() as [WebSocket]
      const instance = new Observed(state, env)
      await instance.webSocketClose(ws, 4000, "r".repeat(124), true)
      return instance.lines
    })
    expect(await client.whenClosed()).toMatchObject({ code: 1002, reason: "close reason too long" })
    expect(lines).toEqual([ended({ ending: "protocol-error", peerCloseCode: 4000, closeCode: 1002 })])
  })
})
