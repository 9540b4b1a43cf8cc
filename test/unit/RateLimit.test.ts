import { assert, describe, it } from "@effect/vitest"
import { makeTokenBucket, takeToken } from "../../src/domain/RateLimit.js"

const takeMany = (bucket: ReturnType<typeof makeTokenBucket>, count: number, now: number) =>
  Array.from({ length: count }, () => takeToken(bucket, now)).filter(Boolean).length

describe("token bucket", () => {
  it("allows a burst of one second's worth, then refuses", () => {
    const bucket = makeTokenBucket(10, 0)
    assert.strictEqual(takeMany(bucket, 10, 0), 10)
    assert.isFalse(takeToken(bucket, 0))
  })

  it("refills at the rate, never above one second's worth", () => {
    const bucket = makeTokenBucket(10, 0)
    takeMany(bucket, 10, 0)
    assert.isFalse(takeToken(bucket, 99))
    assert.isTrue(takeToken(bucket, 100))
    assert.isFalse(takeToken(bucket, 100))
    assert.strictEqual(takeMany(bucket, 100, 60_000), 10)
  })

  it("sustains exactly the rate over time", () => {
    const bucket = makeTokenBucket(5, 0)
    let allowed = 0
    for (let now = 0; now < 10_000; now += 10) if (takeToken(bucket, now)) allowed++
    // The burst of 5, then one every 200 ms for the remaining 9.99 s.
    assert.strictEqual(allowed, 5 + 49)
  })

  it("ignores a clock that goes backwards", () => {
    const bucket = makeTokenBucket(2, 1_000)
    assert.strictEqual(takeMany(bucket, 2, 1_000), 2)
    assert.isFalse(takeToken(bucket, 0))
    assert.isTrue(takeToken(bucket, 1_500))
  })
})
