import { assert, describe, it } from "@effect/vitest"
import { byteLength, prefixMessage } from "../../src/domain/Message.js"

const bytes = (buffer: ArrayBuffer | string) => {
  assert.instanceOf(buffer, ArrayBuffer)
  return Array.from(new Uint8Array(buffer as ArrayBuffer))
}

describe("prefixMessage", () => {
  const prefix = prefixMessage("echo: ")

  it("puts the prefix in front of text", () => {
    assert.strictEqual(prefix("hello"), "echo: hello")
    assert.strictEqual(prefix(""), "echo: ")
    assert.strictEqual(prefix("héllo 🌍 世界"), "echo: héllo 🌍 世界")
  })

  it("puts the prefix's UTF-8 bytes in front of an unchanged binary payload", () => {
    const payload = new Uint8Array([0, 1, 2, 255, 128]).buffer
    assert.deepStrictEqual(bytes(prefix(payload)), [...new TextEncoder().encode("echo: "), 0, 1, 2, 255, 128])
    assert.deepStrictEqual(bytes(prefix(new ArrayBuffer(0))), [...new TextEncoder().encode("echo: ")])
  })

  it("encodes a non-ASCII prefix as UTF-8 for binary", () => {
    assert.deepStrictEqual(bytes(prefixMessage("é→")(new Uint8Array([7]).buffer)), [0xc3, 0xa9, 0xe2, 0x86, 0x92, 7])
  })

  it("leaves messages as they are for an empty prefix", () => {
    const payload = new Uint8Array([9]).buffer
    assert.strictEqual(prefixMessage("")(payload), payload)
    assert.strictEqual(prefixMessage("")("hi"), "hi")
  })
})

describe("byteLength", () => {
  it("counts UTF-8 bytes of text, as TextEncoder does", () => {
    for (const text of ["", "abc", "é", "€", "🌍", "a🌍b€é", "\u{10FFFF}", "\ud800", "x\udc00y", "\ud83c"]) {
      assert.strictEqual(byteLength(text), new TextEncoder().encode(text).byteLength, JSON.stringify(text))
    }
  })

  it("counts the bytes of a binary message", () => {
    assert.strictEqual(byteLength(new ArrayBuffer(1234)), 1234)
  })
})
