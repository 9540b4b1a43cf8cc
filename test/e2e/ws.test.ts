import { describe, expect, it } from "vitest"
import { Client } from "./wsClient.js"

const PREFIX = Buffer.from("echo: ")
const LIMIT = 1_048_576

describe("Node ws against wrangler dev", () => {
  it("echoes text with the prefix", async () => {
    const client = await Client.open()
    client.socket.send("hello")
    expect(await client.nextText()).toBe("echo: hello")
    expect(await client.close(1000, "done")).toEqual({ code: 1000, reason: "done" })
  })

  it("agrees on the first subprotocol offered, and echoes through it", async () => {
    const client = await Client.open({}, ["graphql-transport-ws", "graphql-ws"])
    expect(client.socket.protocol).toBe("graphql-transport-ws")
    client.socket.send('{"type":"connection_init"}')
    expect(await client.nextText()).toBe('echo: {"type":"connection_init"}')
    expect(await client.close(1000)).toEqual({ code: 1000, reason: "" })
  })

  it("echoes UTF-8 byte for byte", async () => {
    const client = await Client.open()
    const text = "héllo → 世界 🌍 \u{10FFFF} \u0000 end"
    client.socket.send(text)
    const { data, isBinary } = await client.next()
    expect(isBinary).toBe(false)
    expect(data.equals(Buffer.concat([PREFIX, Buffer.from(text, "utf8")]))).toBe(true)
    await client.close()
  })

  it("echoes binary as binary: the prefix's bytes, then the payload", async () => {
    const client = await Client.open()
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
    client.socket.send(payload)
    const { data, isBinary } = await client.next()
    expect(isBinary).toBe(true)
    expect([...data]).toEqual([...PREFIX, ...payload])
    client.socket.send(Buffer.alloc(0))
    expect(await client.next()).toEqual({ data: PREFIX, isBinary: true })
    await client.close()
  })

  it("echoes a 1 MiB message, the configured limit, whole", async () => {
    const client = await Client.open()
    const payload = Buffer.alloc(LIMIT, 7)
    payload[LIMIT - 1] = 9
    client.socket.send(payload)
    const { data, isBinary } = await client.next()
    expect(isBinary).toBe(true)
    expect(data.length).toBe(PREFIX.length + LIMIT)
    expect(data.subarray(0, PREFIX.length).equals(PREFIX)).toBe(true)
    expect(data.subarray(PREFIX.length).equals(payload)).toBe(true)
    await client.close()
  })

  it("closes with 1009 at the limit + 1, without echoing it", async () => {
    const client = await Client.open()
    client.socket.send("before")
    client.socket.send(Buffer.alloc(LIMIT + 1))
    expect(await client.nextText()).toBe("echo: before")
    expect(await client.whenClosed()).toEqual({ code: 1009, reason: "message too big" })
  })

  it("mirrors the close code and reason, and answers a bare close with 1000", async () => {
    for (const code of [1000, 1001, 1003, 1008, 1011, 3000, 4000, 4999]) {
      const client = await Client.open()
      expect(await client.close(code, `bye ${code}`)).toEqual({ code, reason: `bye ${code}` })
    }
    expect(await (await Client.open()).close()).toEqual({ code: 1000, reason: "" })
  })

  it("keeps the order of 200 pipelined messages", async () => {
    const client = await Client.open()
    for (let i = 0; i < 200; i++) client.socket.send(i % 4 === 0 ? Buffer.from([i]) : `m${i}`)
    for (let i = 0; i < 200; i++) {
      const { data, isBinary } = await client.next()
      if (i % 4 === 0) expect({ bytes: [...data], isBinary }).toEqual({ bytes: [...PREFIX, i], isBinary: true })
      else expect({ text: data.toString(), isBinary }).toEqual({ text: `echo: m${i}`, isBinary: false })
    }
    await client.close()
  })

  it("serves 100 connections at once, each getting only its own echoes, in order", async () => {
    const clients = await Promise.all(Array.from({ length: 100 }, () => Client.open()))
    for (let round = 0; round < 5; round++) {
      for (const [i, client] of clients.entries()) client.socket.send(`c${i} r${round}`)
    }
    await Promise.all(
      clients.map(async (client, i) => {
        for (let round = 0; round < 5; round++) expect(await client.nextText()).toBe(`echo: c${i} r${round}`)
        expect(await client.close(4000 + i, `c${i}`)).toEqual({ code: 4000 + i, reason: `c${i}` })
      })
    )
  })

  it("works the same without permessage-deflate", async () => {
    const client = await Client.open({ perMessageDeflate: false })
    expect(client.socket.extensions).toBe("")
    client.socket.send("plain")
    expect(await client.nextText()).toBe("echo: plain")
    client.socket.send(Buffer.from([1, 2, 3]))
    expect(await client.next()).toEqual({ data: Buffer.concat([PREFIX, Buffer.from([1, 2, 3])]), isBinary: true })
    await client.close()
  })
})
