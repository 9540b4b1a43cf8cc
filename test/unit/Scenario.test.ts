import { describe, expect, it } from "vitest"
import { behaviourParameters, noScenario, parseScenario, type ScenarioLimits } from "../../src/domain/Scenario.js"

const limits: ScenarioLimits = { testBehaviours: true, maxMessageBytes: 1_048_576, idleTimeoutSeconds: 600 }
const parse = (query: string, given: Partial<ScenarioLimits> = {}) =>
  parseScenario(`http://echo.test/echo${query}`, { ...limits, ...given })
const invalid = (name: string, value: string, allowed: string) => ({
  _tag: "InvalidParameter",
  name,
  value,
  allowed
})

/** Every ranged parameter, with its least and greatest value and what the error says is allowed. */
const RANGES: ReadonlyArray<readonly [string, number, number, string, string?]> = [
  ["delay_ms", 0, 10_000, "an integer from 0 to 10000"],
  ["accept_delay_ms", 0, 10_000, "an integer from 0 to 10000"],
  ["close_after", 0, 1_000_000, "an integer from 0 to 1000000"],
  ["close_after_ms", 0, 3_600_000, "an integer from 0 to 3600000"],
  ["push_every_ms", 10, 3_600_000, "an integer from 10 to 3600000", "&push=x"],
  ["push_count", 1, 10_000, "an integer from 1 to 10000", "&push=x"],
  ["retry_after", 0, 86_400, "an integer from 0 to 86400", "&reject=503"]
]

describe("parseScenario", () => {
  it("returns the one shared noScenario for a URL without a query, or with an empty one", () => {
    expect(parse("")).toBe(noScenario)
    expect(parse("?")).toBe(noScenario)
  })

  for (const [name, min, max, allowed, needs = ""] of RANGES) {
    it(`takes ${name} from ${min} to ${max} and refuses one past each end`, () => {
      for (const value of [min, max]) expect(parse(`?${name}=${value}${needs}`)).not.toHaveProperty("_tag")
      for (const value of [String(min - 1), String(max + 1), "1.5", "", "0x10", " 1"]) {
        expect(parse(`?${name}=${encodeURIComponent(value)}${needs}`)).toMatchObject(invalid(name, value, allowed))
      }
    })
  }

  it("takes every close code a server may send, and refuses the reserved ones and those past 4999", () => {
    for (const code of [1000, 1003, 1007, 1014, 3000, 4999]) {
      expect(parse(`?close_code=${code}`)).toMatchObject({ close: { frame: { code, reason: "" } } })
    }
    for (const code of [999, 1004, 1005, 1006, 1015, 2999, 5000]) {
      expect(parse(`?close_code=${code}`)).toMatchObject({
        _tag: "InvalidParameter",
        name: "close_code",
        allowed: "a close code from 1000 to 1003, 1007 to 1014 or 3000 to 4999"
      })
    }
  })

  it("takes a close reason of 123 UTF-8 bytes, not 124, and counts multi-byte characters", () => {
    expect(parse(`?close_reason=${"r".repeat(123)}`)).toMatchObject({ close: { frame: { code: 1000 } } })
    expect(parse(`?close_reason=${"r".repeat(124)}`)).toMatchObject({ _tag: "InvalidParameter", name: "close_reason" })
    expect(parse(`?close_reason=${encodeURIComponent("é".repeat(62))}`)).toMatchObject({ _tag: "InvalidParameter" })
    expect(parse(`?close_reason=${encodeURIComponent("é".repeat(61))}`)).not.toHaveProperty("_tag")
  })

  it("takes a greeting and a push of 1,024 bytes, not 1,025, and never more than MAX_MESSAGE_BYTES", () => {
    for (const name of ["greeting", "push"]) {
      expect(parse(`?${name}=${"g".repeat(1024)}`)).not.toHaveProperty("_tag")
      expect(parse(`?${name}=${"g".repeat(1025)}`)).toMatchObject({
        name,
        allowed: "at most 1024 UTF-8 bytes"
      })
      expect(parse(`?${name}=${"g".repeat(11)}`, { maxMessageBytes: 10 })).toMatchObject({
        name,
        allowed: "at most 10 UTF-8 bytes"
      })
    }
  })

  it("refuses with a status from 400 to 599 other than 426", () => {
    for (const status of [400, 425, 427, 599]) {
      expect(parse(`?reject=${status}`)).toMatchObject({ reject: { status, retryAfter: undefined } })
    }
    for (const status of [399, 426, 600]) {
      expect(parse(`?reject=${status}`)).toMatchObject({
        name: "reject",
        allowed: "an HTTP status from 400 to 599 other than 426"
      })
    }
  })

  it("takes true or false for each switch, and nothing else", () => {
    for (const name of ["stall", "info"]) {
      expect(parse(`?${name}=true`)).toMatchObject({ [name]: true })
      expect(parse(`?${name}=false`)).toMatchObject({ [name]: false })
      expect(parse(`?${name}=yes`)).toMatchObject(invalid(name, "yes", "true or false"))
    }
    expect(parse("?broadcast=1&room=a")).toMatchObject(invalid("broadcast", "1", "true or false"))
  })

  it("refuses an unknown parameter, listing the known ones", () => {
    const error = parse("?close_cod=4000")
    expect(error).toMatchObject({
      _tag: "UnknownParameter",
      name: "close_cod",
      known: ["room", ...behaviourParameters, "tap"]
    })
    expect((error as Error).message).toBe(
      `Unknown parameter "close_cod"; the known ones are room, ${behaviourParameters.join(", ")}, tap`
    )
  })

  it("takes a tap of 8 to 64 of A-Z a-z 0-9 . _ -, which is neither a behaviour nor a room", () => {
    expect(parse("?tap=Ab9._-xy")).toEqual({ ...noScenario, tap: "Ab9._-xy" })
    expect(parse(`?room=r&tap=${"t".repeat(64)}&greeting=hi`)).toMatchObject({
      room: "r",
      tap: "t".repeat(64),
      behaviours: ["greeting"]
    })
    for (const name of ["short", "t".repeat(65), "no spaces", "slash/es!"]) {
      expect(parse(`?tap=${encodeURIComponent(name)}`)).toMatchObject(
        invalid("tap", name, "8 to 64 of A-Z a-z 0-9 . _ -")
      )
    }
    expect(parseScenario("http://h/echo?tap=abcdefgh", { ...limits, testBehaviours: false })).toMatchObject({
      _tag: "UnknownParameter",
      name: "tap",
      known: ["room"]
    })
  })

  it("refuses a parameter given twice", () => {
    expect(parse("?delay_ms=1&delay_ms=2")).toMatchObject(invalid("delay_ms", "1, 2", "given once"))
  })

  it("refuses a qualifier without what it qualifies", () => {
    expect(parse("?push_every_ms=100")).toMatchObject(invalid("push_every_ms", "100", "given with push"))
    expect(parse("?push_count=2")).toMatchObject(invalid("push_count", "2", "given with push"))
    expect(parse("?retry_after=5")).toMatchObject(invalid("retry_after", "5", "given with reject"))
    expect(parse("?broadcast=true")).toMatchObject(invalid("broadcast", "true", "given with room"))
  })

  it("refuses stall=true when no idle timeout would ever end the socket", () => {
    expect(parse("?stall=true", { idleTimeoutSeconds: 0 })).toMatchObject({ _tag: "InvalidParameter", name: "stall" })
    expect(parse("?stall=false", { idleTimeoutSeconds: 0 })).not.toHaveProperty("_tag")
  })

  it("checks the room name, and a room alone asks for no behaviour", () => {
    expect(parse("?room=a.b_c-1")).toEqual({ ...noScenario, room: "a.b_c-1" })
    expect(parse("?room=a%20b")).toMatchObject({ _tag: "InvalidRoom", room: "a b" })
  })

  it("with TEST_BEHAVIOURS off knows only room", () => {
    expect(parse("?room=a", { testBehaviours: false })).toEqual({ ...noScenario, room: "a" })
    expect(parse("?close_code=4000", { testBehaviours: false })).toMatchObject({
      _tag: "UnknownParameter",
      name: "close_code",
      known: ["room"]
    })
  })

  it("combines the parameters into one value, naming the behaviours used in the table's order", () => {
    expect(
      parse(
        "?push=tick&close_after=2&greeting=hi&delay_ms=50&close_code=4001&close_reason=bye&push_every_ms=100&push_count=3&info=true"
      )
    ).toEqual({
      behaviours: [
        "greeting",
        "delay_ms",
        "close_code",
        "close_reason",
        "close_after",
        "push",
        "push_every_ms",
        "push_count",
        "info"
      ],
      greeting: "hi",
      info: true,
      delayMs: 50,
      acceptDelayMs: 0,
      close: { frame: { code: 4001, reason: "bye" }, afterEchoes: 2, afterMs: undefined },
      push: { text: "tick", everyMs: 100, count: 3 },
      reject: undefined,
      stall: false,
      broadcast: false,
      room: undefined
    })
  })

  it("closes with 1000 when only an after parameter is given, and defaults a push to once after 1 s", () => {
    expect(parse("?close_after_ms=20")).toMatchObject({
      close: { frame: { code: 1000, reason: "" }, afterEchoes: undefined, afterMs: 20 }
    })
    expect(parse("?push=x")).toMatchObject({ push: { text: "x", everyMs: 1000, count: 1 } })
    expect(parse("?reject=429&retry_after=5")).toMatchObject({ reject: { status: 429, retryAfter: 5 } })
  })
})
