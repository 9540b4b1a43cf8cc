import { env, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test"
import { describe, expect, it } from "vitest"
import { EchoRoom } from "../../src/runtime/EchoRoom.js"
import type { RoomSocket } from "../../src/services/EchoRooms.js"
import { bytesOf, connect, serviceWith } from "./socket.js"

const PREFIX = [...new TextEncoder().encode("echo: ")]
const room = (name: string) => env.ECHO_ROOMS.get(env.ECHO_ROOMS.idFromName(name))
const attachments = (name: string) =>
  runInDurableObject(room(name), (_, state) =>
    state.getWebSockets().map((ws) => ws.deserializeAttachment() as RoomSocket)
  )

/**
 * The attachments of a room once their traffic counts `messagesIn` for the first socket: the object writes
 * changed attachments together, a second after the change (and before it can hibernate).
 */
const attachmentsWritten = async (name: string, messagesIn: number) => {
  const deadline = Date.now() + 5_000
  let sockets = await attachments(name)
  while (sockets[0]?.traffic.messagesIn !== messagesIn && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    sockets = await attachments(name)
  }
  return sockets
}

describe.runIf(env.ECHO_BACKEND === "durable-object")("the EchoRoom Durable Object", () => {
  it("echoes text and binary, and keeps the socket's plan, traffic and subprotocol in its attachment", async () => {
    const client = await connect("/echo?room=plain", { "Sec-WebSocket-Protocol": "chat" })
    client.socket.send("hello")
    expect(await client.next()).toBe("echo: hello")
    client.socket.send(new Uint8Array([1, 2, 3]))
    expect(bytesOf(await client.next())).toEqual([...PREFIX, 1, 2, 3])
    const [socket] = await attachmentsWritten("plain", 2)
    expect(socket).toMatchObject({
      prefix: "echo: ",
      limits: { maxMessageBytes: 1_048_576, maxMessagesPerSecond: 0 },
      idleTimeoutMs: 600_000,
      protocol: "chat",
      wakes: 0,
      traffic: { messagesIn: 2, bytesIn: 8, messagesOut: 2, bytesOut: 20, bucket: null }
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
    expect(socket).toMatchObject({ wakes: 1, traffic: { messagesIn: 2, messagesOut: 2 } })
    expect(await client.close(1000, "done")).toEqual({ code: 1000, reason: "done", wasClean: true })
  })

  it("sets an alarm for the idle timeout, and the alarm closes a socket silent for that long with 1001", async () => {
    const client = await connect("/echo?room=idle")
    await runInDurableObject(room("idle"), async (_, state) => {
      expect(await state.storage.getAlarm()).not.toBeNull()
      // Ten minutes and a second of silence, as the attachment would read then.
      const [ws] = state.getWebSockets()
      const socket = ws?.deserializeAttachment() as RoomSocket
      socket.traffic.lastActivity -= 601_000
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
    expect(socket?.traffic).toMatchObject({ messagesIn: 50, messagesOut: 50 })
    await client.close(1000)
  })

  it("sends, on a late alarm, the pushes that were due before the timed close, then the close", async () => {
    const client = await connect("/echo?room=late&push=p&push_every_ms=1000&push_count=3&close_after_ms=2500")
    await runInDurableObject(room("late"), async (_, state) => {
      // Three seconds late: the pushes due at 1 s and 2 s came before the close at 2.5 s; the one at 3 s did not.
      const [ws] = state.getWebSockets()
      const socket = ws?.deserializeAttachment() as RoomSocket & {
        behaviour: { pushAt: number; closeAt: number }
      }
      socket.behaviour.pushAt -= 3_000
      socket.behaviour.closeAt -= 3_000
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
    expect(socket?.traffic.messagesIn).toBe(0)
    await client.close(1000)
  })
})
