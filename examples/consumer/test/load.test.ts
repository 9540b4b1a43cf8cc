import { describe, expect, it } from "vitest"
import worker from "../src/worker.js"
import { type Client, connect, logLines, upgrade, within } from "./support.js"

const SOCKETS = 100
const ROUNDS = 10
const BURST = 5

/**
 * Each client sends `ROUNDS` bursts of `BURST` messages, waiting for a burst's echoes before the next: every
 * socket is in use, with the others, for the whole exchange. Fails on the first echo out of order, and on a
 * socket that closes before its last echo.
 */
const exchange = (clients: ReadonlyArray<Client>) =>
  Promise.all(
    clients.map(async (client, i) => {
      for (let round = 0; round < ROUNDS; round++) {
        for (let n = 0; n < BURST; n++) client.socket.send(`socket ${i} round ${round} message ${n}`)
        for (let n = 0; n < BURST; n++) {
          expect(await client.next()).toBe(`example: socket ${i} round ${round} message ${n}`)
        }
      }
    })
  )

/**
 * Closes every client with a code of its own (`base` + its index), and expects that code mirrored in a clean close:
 * no 1006.
 */
const closeAll = async (clients: ReadonlyArray<Client>, base: number) => {
  const closes = await Promise.all(clients.map((client, i) => client.close(base + i, `socket ${i}`)))
  expect(closes).toEqual(clients.map((_, i) => ({ code: base + i, reason: `socket ${i}`, wasClean: true })))
}

describe("the stream echo through EchoRouter under toFetchHandler, 100 sockets at once", () => {
  it("keeps every socket past its 101, each a request of its own: every echo in order, no 1006", async () => {
    const clients = await Promise.all(Array.from({ length: SOCKETS }, () => connect("/echo")))
    await exchange(clients)
    expect(clients.flatMap((client) => client.closedWith ?? [])).toEqual([])
    await closeAll(clients, 3000)
  }, 60_000)

  it("keeps each request's ctx pending until its socket has closed, then lets it end", async () => {
    const sockets = await Promise.all(Array.from({ length: SOCKETS }, () => upgrade(worker, "/echo")))
    const clients = sockets.map(({ client }) => client)
    await exchange(clients)
    expect(sockets.filter((socket) => socket.settled()).length).toBe(0)
    await closeAll(clients, 3100)
    await within(Promise.all(sockets.map(({ done }) => done)), "end of every socket's request")
    expect(sockets.every((socket) => socket.settled())).toBe(true)
    // Each request ended after its socket's echo had: every socket's one line is written by then, with its counts.
    const ended = logLines("connection ended")
      .map(({ annotations }) => annotations)
      .filter(({ closeCode }) => typeof closeCode === "number" && closeCode >= 3100)
      .sort((a, b) => (a.closeCode as number) - (b.closeCode as number))
    expect(ended).toEqual(
      clients.map((_, i) =>
        expect.objectContaining({
          ending: "peer-close",
          peerCloseCode: 3100 + i,
          closeCode: 3100 + i,
          messagesIn: ROUNDS * BURST,
          messagesOut: ROUNDS * BURST
        })
      )
    )
  }, 60_000)
})
