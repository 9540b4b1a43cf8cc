import { describe, expect, it } from "vitest"
import { MessageTooLarge } from "../../src/domain/MessageTooLarge.js"
import { RateLimitExceeded } from "../../src/domain/RateLimit.js"
import { admit, countSent, makeTraffic, statsOf } from "../../src/domain/Traffic.js"

describe("Traffic", () => {
  it("counts what it admits and what is sent, and keeps the last activity", () => {
    const limits = { maxMessageBytes: 8, maxMessagesPerSecond: 0 }
    const traffic = makeTraffic(limits, 1_000)
    expect(admit(traffic, limits, "€€", 1_500)).toBeUndefined()
    countSent(traffic, "echo: €€", 1_600)
    expect(statsOf(traffic)).toEqual({ messagesIn: 1, bytesIn: 6, messagesOut: 1, bytesOut: 12 })
    expect(traffic.lastActivity).toBe(1_600)
    expect(traffic.bucket).toBeNull()
  })

  it("refuses a message over the size limit, in UTF-8 bytes, without counting it", () => {
    const limits = { maxMessageBytes: 5, maxMessagesPerSecond: 0 }
    const traffic = makeTraffic(limits, 0)
    expect(admit(traffic, limits, "€€", 10)).toEqual(new MessageTooLarge({ size: 6, limit: 5 }))
    expect(admit(traffic, limits, new ArrayBuffer(5), 20)).toBeUndefined()
    expect(statsOf(traffic)).toEqual({ messagesIn: 1, bytesIn: 5, messagesOut: 0, bytesOut: 0 })
  })

  it("refuses a message over the rate, and survives a structured clone (a Durable Object attachment)", () => {
    const limits = { maxMessageBytes: 100, maxMessagesPerSecond: 2 }
    const traffic = structuredClone(makeTraffic(limits, 0))
    expect(admit(traffic, limits, "a", 0)).toBeUndefined()
    const restored = structuredClone(traffic)
    expect(admit(restored, limits, "b", 0)).toBeUndefined()
    expect(admit(restored, limits, "c", 0)).toEqual(new RateLimitExceeded({ limit: 2 }))
    expect(admit(restored, limits, "d", 500)).toBeUndefined()
  })
})
