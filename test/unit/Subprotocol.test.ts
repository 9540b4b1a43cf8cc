import { describe, expect, it } from "vitest"
import { chooseSubprotocol, parseSubprotocols } from "../../src/domain/Subprotocol.js"

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
