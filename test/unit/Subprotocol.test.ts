import { describe, expect, it } from "vitest"
import {
  chooseSubprotocol,
  MAX_SUBPROTOCOL_BYTES,
  oversizedSubprotocol,
  parseSubprotocols
} from "../../src/domain/Subprotocol.js"

describe("parseSubprotocols", () => {
  it("reads a list of tokens in the client's order, however it is spaced or split over lines", () => {
    expect(parseSubprotocols("chat")).toEqual(["chat"])
    expect(parseSubprotocols("graphql-transport-ws, graphql-ws")).toEqual(["graphql-transport-ws", "graphql-ws"])
    expect(parseSubprotocols("  mqtt ,v12.stomp,\tx-custom  ")).toEqual(["mqtt", "v12.stomp", "x-custom"])
    // Two header lines arrive joined with ", "; empty elements are ignored (RFC 9110 §5.6.1).
    expect(parseSubprotocols("a, b, , c,")).toEqual(["a", "b", "c"])
    expect(parseSubprotocols("!#$%&'*+-.^_`|~09AZaz")).toEqual(["!#$%&'*+-.^_`|~09AZaz"])
  })

  it("refuses no token at all, an element that is not a token, and a token offered twice", () => {
    for (const header of ["", " ", ",", " , ,", "a b", "chat;v=1", 'say"hi"', "a/b", "(x)", "é", "a,,a", "x, x"]) {
      expect(parseSubprotocols(header), header).toBeUndefined()
    }
  })
})

describe("oversizedSubprotocol", () => {
  it("names the UTF-8 size of the first element over 256 bytes, a token or not, and nothing when none is", () => {
    expect(MAX_SUBPROTOCOL_BYTES).toBe(256)
    expect(oversizedSubprotocol("chat, graphql-ws")).toBeUndefined()
    expect(oversizedSubprotocol(`chat, ${"p".repeat(256)}`)).toBeUndefined()
    expect(oversizedSubprotocol(`chat, ${"p".repeat(257)}, ${"q".repeat(300)}`)).toBe(257)
    expect(oversizedSubprotocol(` ${"p".repeat(20_000)} `)).toBe(20_000)
    expect(oversizedSubprotocol(`a b ${"é".repeat(200)}`)).toBe(404)
    // 86 characters can reach 258 bytes: the short cut stops below that.
    expect(oversizedSubprotocol("€".repeat(86))).toBe(258)
  })
})

describe("chooseSubprotocol", () => {
  it("takes the client's first offer when the server lists none, as Node ws does", () => {
    expect(chooseSubprotocol(["chat", "superchat"], [])).toBe("chat")
  })

  it("takes the first of the client's offers that the server lists, case-sensitively", () => {
    expect(chooseSubprotocol(["b", "a"], ["a", "b"])).toBe("b")
    expect(chooseSubprotocol(["x", "a"], ["a"])).toBe("a")
    expect(chooseSubprotocol(["Chat"], ["chat"])).toBeUndefined()
    expect(chooseSubprotocol(["x"], ["a", "b"])).toBeUndefined()
  })
})
