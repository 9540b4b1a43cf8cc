import { assert, describe, it } from "@effect/vitest"
import { closeReply, isValidCloseCode } from "../../src/domain/CloseFrame.js"

describe("closeReply", () => {
  it("mirrors every code that is valid on the wire, with its reason", () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1010, 1011, 1014, 3000, 3999, 4000, 4999]) {
      assert.deepStrictEqual(closeReply({ code, reason: "why" }), { code, reason: "why" })
    }
  })

  it("answers a close frame without a code (reported as 1005) with 1000", () => {
    assert.deepStrictEqual(closeReply({ code: 1005, reason: "" }), { code: 1000, reason: "" })
  })

  it("answers every other code but 1006 with 1002", () => {
    for (const code of [0, 999, 1004, 1015, 1016, 2000, 2999, 5000, 65535]) {
      assert.deepStrictEqual(closeReply({ code, reason: "x" }), { code: 1002, reason: "invalid close code" })
    }
  })

  it("answers nothing to 1006, the runtime's word for a connection that dropped without a close frame", () => {
    assert.isUndefined(closeReply({ code: 1006, reason: "" }))
  })

  it("mirrors a reason of 123 UTF-8 bytes and answers a longer one with 1002 (RFC 6455 §5.5)", () => {
    const longest = `${"é".repeat(61)}x`
    assert.deepStrictEqual(closeReply({ code: 4001, reason: longest }), { code: 4001, reason: longest })
    assert.deepStrictEqual(closeReply({ code: 4001, reason: `${longest}x` }), {
      code: 1002,
      reason: "close reason too long"
    })
    assert.deepStrictEqual(closeReply({ code: 1000, reason: "€".repeat(42) }), {
      code: 1002,
      reason: "close reason too long"
    })
  })

  it("knows the exact edges of the valid ranges", () => {
    const valid = Array.from({ length: 6000 }, (_, code) => code).filter(isValidCloseCode)
    assert.strictEqual(valid.length, 4 + 8 + 2000)
    assert.isFalse(isValidCloseCode(1004))
    assert.isFalse(isValidCloseCode(2999))
    assert.isFalse(isValidCloseCode(5000))
  })
})
