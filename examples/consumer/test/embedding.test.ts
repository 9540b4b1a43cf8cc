import { env, runInDurableObject, SELF } from "cloudflare:test"
import { describe, expect, it } from "vitest"
import { makeWorker } from "../src/app.js"
import worker from "../src/worker.js"
import { bytesOf, call, connect } from "./support.js"

const roomsUnavailable = {
  error: "This server has no rooms: provide EchoRooms.layer with a Durable Object namespace bound to EchoRoom",
  code: "ROOMS_UNAVAILABLE"
}

/** How many sockets the room named `name` holds, asked of the Durable Object itself. */
const socketsIn = (name: string) =>
  runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName(name)), (_, state) => state.getWebSockets().length)

describe("the echo mounted in an app without rooms", () => {
  it("serves the app's own JSON route beside it", async () => {
    const response = await SELF.fetch("http://example.test/hello")
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ hello: "world" })
  })

  it("echoes at /echo with the app's prefix, and mirrors the client's close", async () => {
    const client = await connect("/echo")
    expect(await client.reply("hi")).toBe("example: hi")
    expect(await client.close(4100, "app done")).toEqual({ code: 4100, reason: "app done", wasClean: true })
  })

  it("answers a broadcast room upgrade with the typed 501 JSON, never a 500, when behaviours are on", async () => {
    const withBehaviours = makeWorker({ prefix: "example: ", testBehaviours: true })
    for (const query of ["?room=a&broadcast=true", "?room=b&broadcast=true&delay_ms=5"]) {
      const { response, done } = await call(withBehaviours, `/echo${query}`, { Upgrade: "websocket" })
      expect(response.status, query).toBe(501)
      expect(response.headers.get("content-type"), query).toBe("application/json")
      expect(response.webSocket, query).toBeNull()
      expect(await response.json(), query).toEqual(roomsUnavailable)
      await done
    }
  })

  it("answers any upgrade with the typed 501 JSON when the echo's backend is the rooms it does not have", async () => {
    const roomsBackend = makeWorker({ prefix: "example: ", backend: "durable-object" })
    const { response } = await call(roomsBackend, "/echo?room=a", { Upgrade: "websocket" })
    expect(response.status).toBe(501)
    expect(await response.json()).toEqual(roomsUnavailable)
  })

  it("offers no behaviours unless the app turns them on: broadcast is an unknown parameter", async () => {
    const response = await SELF.fetch("http://example.test/echo?room=a&broadcast=true", {
      headers: { Upgrade: "websocket" }
    })
    expect(response.status).toBe(400)
    expect(await response.json()).toMatchObject({ code: "UNKNOWN_PARAMETER" })
  })
})

describe("a route that fails with the package's NotWebSocket", () => {
  it("answers 426 with the error's own JSON and Upgrade header, rendered by the error itself", async () => {
    const { response } = await call(worker, "/live")
    expect(response.status).toBe(426)
    expect(response.headers.get("upgrade")).toBe("websocket")
    expect(response.headers.get("content-type")).toBe("application/json")
    expect(await response.json()).toEqual({
      error: "Expected WebSocket upgrade request (Upgrade: websocket)",
      code: "NOT_WEBSOCKET"
    })
  })

  it("upgrades the same route when the request asks for a socket", async () => {
    const client = await connect("/live")
    expect(await client.reply("hi")).toBe("consumer: hi")
    expect(await client.close(1000)).toEqual({ code: 1000, reason: "", wasClean: true })
  })

  it("gets the same 426 from HttpServerRequest.upgrade itself, on the app's /socket", async () => {
    const { response } = await call(worker, "/socket")
    expect(response.status).toBe(426)
    expect(await response.json()).toEqual({
      error: "Expected WebSocket upgrade request (Upgrade: websocket)",
      code: "NOT_WEBSOCKET"
    })
  })
})

describe("the echo mounted in an app with rooms (EchoRoom bound as ROOMS)", () => {
  it("serves ?room=NAME in that room's Durable Object", async () => {
    const room = `plain-${crypto.randomUUID()}`
    const first = await connect(`/rooms/echo?room=${room}`)
    const second = await connect(`/rooms/echo?room=${room}`)
    expect(await first.reply("one")).toBe("example: one")
    expect(await second.reply("two")).toBe("example: two")
    expect(await socketsIn(room)).toBe(2)
    // Without broadcast, each socket hears its own echo only.
    expect(first.unread + second.unread).toBe(0)
    expect(await first.close(1000)).toEqual({ code: 1000, reason: "", wasClean: true })
    expect(await second.close(4000, "bye")).toEqual({ code: 4000, reason: "bye", wasClean: true })
  })

  it("sends a broadcast socket's message, prefixed, to every broadcast socket of the room", async () => {
    const room = `lobby-${crypto.randomUUID()}`
    const alice = await connect(`/rooms/echo?room=${room}&broadcast=true`)
    const bob = await connect(`/rooms/echo?room=${room}&broadcast=true`)
    alice.socket.send("hi all")
    expect(await alice.next()).toBe("example: hi all")
    expect(await bob.next()).toBe("example: hi all")
    bob.socket.send(new Uint8Array([1, 2, 3]))
    for (const client of [alice, bob]) {
      expect(Array.from(bytesOf(await client.next()))).toEqual([...new TextEncoder().encode("example: "), 1, 2, 3])
    }
    expect(await socketsIn(room)).toBe(2)
    expect(await alice.close(1000)).toEqual({ code: 1000, reason: "", wasClean: true })
    expect(await bob.close(1000)).toEqual({ code: 1000, reason: "", wasClean: true })
  })
})
