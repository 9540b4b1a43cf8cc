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

  it("answers every other code with 1002", () => {
    for (const code of [0, 999, 1004, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
      assert.deepStrictEqual(closeReply({ code, reason: "x" }), { code: 1002, reason: "invalid close code" })
    }
  })

  it("knows the exact edges of the valid ranges", () => {
    const valid = Array.from({ length: 6000 }, (_, code) => code).filter(isValidCloseCode)
    assert.strictEqual(valid.length, 4 + 8 + 2000)
    assert.isFalse(isValidCloseCode(1004))
    assert.isFalse(isValidCloseCode(2999))
    assert.isFalse(isValidCloseCode(5000))
  })
})
