import { describe, expect, it } from "vitest"
import { makeWorker } from "../src/app.js"
import worker from "../src/worker.js"
import { bytesOf, connect, logLines, upgrade, within, written } from "./support.js"

/** The line of an echo socket closed by its idle timeout, having echoed nothing. */
const idleEnded = expect.objectContaining({
  message: "connection ended",
  logLevel: "INFO",
  annotations: expect.objectContaining({ ending: "idle", closeCode: 1001, peerCloseCode: null, messagesIn: 0 })
})

describe("a Socket route of the app's own, under toFetchHandler", () => {
  it("echoes a 2 MiB message whole, where the echo's own 1 MiB cap closes with 1009", async () => {
    const big = new Uint8Array(2 * 1024 * 1024).map((_, i) => (i * 7) % 251)
    const socket = await connect("/socket")
    const echoed = bytesOf(await socket.reply(big))
    expect(echoed.length).toBe(big.length)
    expect(echoed.every((byte, i) => byte === big[i])).toBe(true)
    const text = "x".repeat(2 * 1024 * 1024)
    expect(await socket.reply(text)).toBe(`consumer: ${text}`)
    expect(await socket.close(1000)).toEqual({ code: 1000, reason: "", wasClean: true })

    const echo = await connect("/echo")
    echo.socket.send(big)
    expect(await echo.whenClosed()).toMatchObject({ code: 1009 })
  })

  it("stays open past the echo's idle timeout and writes no log line; the echo's idle socket gets 1001 and its line", async () => {
    const app = makeWorker({ prefix: "example: ", idleTimeoutSeconds: 1 })
    const socket = await upgrade(app, "/socket")
    expect(await socket.client.reply("before")).toBe("consumer: before")
    const idleSince = Date.now()
    // Two echo sockets of the same app, one after the other, each closed by its 1 s idle timeout: by the time the
    // second closes, the app's socket has been idle for two of the echo's idle timeouts.
    for (let i = 0; i < 2; i++) {
      const echo = await upgrade(app, "/echo")
      expect(await echo.client.whenClosed()).toEqual({ code: 1001, reason: "idle timeout", wasClean: true })
      await within(echo.done, "end of the echo's request")
    }
    expect(Date.now() - idleSince).toBeGreaterThanOrEqual(2_000)
    expect(socket.client.closedWith).toBeUndefined()
    expect(socket.settled()).toBe(false)
    expect(await socket.client.reply("after")).toBe("consumer: after")
    expect(await socket.client.close(1000)).toEqual({ code: 1000, reason: "", wasClean: true })
    await within(socket.done, "end of the app socket's request")
    // The echo's two sockets wrote their line each; the app's socket, ended too, wrote nothing at all.
    expect(written.length).toBe(2)
    expect(logLines()).toEqual([idleEnded, idleEnded])
  })

  it("writes no log line for the app's socket in the Worker as deployed either, whatever its close code", async () => {
    const socket = await upgrade(worker, "/socket")
    expect(await socket.client.reply("hi")).toBe("consumer: hi")
    expect(await socket.client.close(4001, "done")).toEqual({ code: 4001, reason: "done", wasClean: true })
    await within(socket.done, "end of the app socket's request")
    expect(written).toEqual([])
  })
})
