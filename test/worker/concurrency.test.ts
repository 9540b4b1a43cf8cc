import { describe, expect, it } from "vitest"
import { connect } from "./socket.js"

describe("many sockets in one isolate", () => {
  it("gives each of 60 sockets open at once exactly its own echoes, in order", async () => {
    const clients = await Promise.all(Array.from({ length: 60 }, () => connect()))
    for (let round = 0; round < 20; round++) {
      for (const [i, client] of clients.entries()) client.socket.send(`socket ${i} message ${round}`)
    }
    await Promise.all(
      clients.map(async (client, i) => {
        for (let round = 0; round < 20; round++) expect(await client.next()).toBe(`echo: socket ${i} message ${round}`)
      })
    )
    const closes = await Promise.all(clients.map((client, i) => client.close(3000 + i, `socket ${i}`)))
    expect(closes).toEqual(clients.map((_, i) => ({ code: 3000 + i, reason: `socket ${i}`, wasClean: true })))
    // 1,200 echoes over 60 sockets: ≈ 3 s alone in the Durable Object mode, more while other test files run.
  }, 30_000)
})
