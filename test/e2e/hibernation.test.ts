import { afterAll, beforeAll, describe, expect, inject, it } from "vitest"
import { eventually } from "../support/eventually.js"
import { logLines } from "../support/logLines.js"
import { startWranglerDev, type WranglerDev } from "../support/wranglerDev.js"
import { Client } from "./wsClient.js"

/**
 * How long a room stays silent before the test's next message. wrangler dev evicts an idle Durable Object
 * after about 10 s (measured); the silence is the condition under test, not a wait for something to happen.
 */
const SILENCE_MS = 15_000

describe.runIf(inject("mode") === "durable-object")("a room under wrangler dev, evicted and woken", () => {
  let dev: WranglerDev
  beforeAll(async () => {
    dev = await startWranglerDev({ mode: "durable-object" })
  }, 90_000)
  afterAll(() => dev?.stop())

  // Both tests wait out the same silence, each on an object of its own.
  it.concurrent("echoes a message that arrives after the object was evicted, with the connection's stats intact", async () => {
    const url = `${dev.origin.replace(/^http/, "ws")}/echo`
    const client = await Client.open({}, ["chat"], url)
    client.socket.send("before")
    expect(await client.nextText()).toBe("echo: before")
    await new Promise((resolve) => setTimeout(resolve, SILENCE_MS))
    client.socket.send("after")
    expect(await client.nextText()).toBe("echo: after")
    expect(await client.close(4000, "bye")).toEqual({ code: 4000, reason: "bye" })

    const ended = () =>
      logLines(dev.output(), "connection ended").filter((line) => line.annotations.protocol === "chat")
    expect(await eventually(() => ended().length === 1, 10_000)).toBe(true)
    expect(ended()[0]?.annotations).toMatchObject({
      protocol: "chat",
      messagesIn: 2,
      messagesOut: 2,
      peerCloseCode: 4000,
      closeCode: 4000,
      wakes: 1
    })
  }, 60_000)

  it.concurrent("counts every message of a burst before the eviction in the log line after the wake", async () => {
    const url = `${dev.origin.replace(/^http/, "ws")}/echo`
    const client = await Client.open({}, ["burst"], url)
    for (let i = 0; i < 200; i++) client.socket.send(`m${i}`)
    for (let i = 0; i < 200; i++) expect(await client.nextText()).toBe(`echo: m${i}`)
    await new Promise((resolve) => setTimeout(resolve, SILENCE_MS))
    client.socket.send("after")
    expect(await client.nextText()).toBe("echo: after")
    expect(await client.close(4000, "bye")).toEqual({ code: 4000, reason: "bye" })

    const ended = () =>
      logLines(dev.output(), "connection ended").filter((line) => line.annotations.protocol === "burst")
    expect(await eventually(() => ended().length === 1, 10_000)).toBe(true)
    expect(ended()[0]?.annotations).toMatchObject({ messagesIn: 201, messagesOut: 201, bytesIn: 695, wakes: 1 })
  }, 60_000)
})
