import { type CloseFrame, isValidCloseCode, MAX_CLOSE_REASON_BYTES } from "./CloseFrame.js"
import { InvalidParameter, InvalidRoom, UnknownParameter } from "./HttpError.js"
import { byteLength } from "./Message.js"

/** The largest greeting or pushed text, in UTF-8 bytes: it travels in the URL, and a room keeps it. */
export const MAX_SCENARIO_TEXT_BYTES = 1_024

/** A close the server starts on request: its frame, and when (after N echoes, after N ms, or at once). */
export interface ScenarioClose {
  readonly frame: CloseFrame
  /** Close once this many echoes were sent; absent with `afterMs` alone. */
  readonly afterEchoes: number | undefined
  /** Close this many ms after the upgrade; absent with `afterEchoes` alone. */
  readonly afterMs: number | undefined
}

/** Text the server sends on its own: `count` times, every `everyMs` ms (first at `everyMs`). */
export interface ScenarioPush {
  readonly text: string
  readonly everyMs: number
  readonly count: number
}

/** An upgrade refused on request, with its status and, if asked for, `Retry-After`. */
export interface ScenarioReject {
  readonly status: number
  readonly retryAfter: number | undefined
}

/**
 * What a client asked `/echo` to do besides the echo, from the query, parsed
 * once: the misbehaviour a client must survive (a chosen close, latency,
 * pushes, a refused upgrade, silence), the connection's info, and a room.
 * `behaviours` names the parameters given, for the connection's log line.
 */
export interface Scenario {
  readonly behaviours: ReadonlyArray<string>
  readonly greeting: string | undefined
  readonly info: boolean
  readonly delayMs: number
  readonly acceptDelayMs: number
  readonly close: ScenarioClose | undefined
  readonly push: ScenarioPush | undefined
  readonly reject: ScenarioReject | undefined
  readonly stall: boolean
  readonly broadcast: boolean
  /** The room asked for with `room=NAME`, if any. */
  readonly room: string | undefined
  /** The tap asked for with `tap=NAME`, if any: every event of the socket is published to it (`TapEvent`). */
  readonly tap?: string | undefined
}

/** The scenario of a request without a query: the echo alone. One value, shared by every such request. */
export const noScenario: Scenario = {
  behaviours: [],
  greeting: undefined,
  info: false,
  delayMs: 0,
  acceptDelayMs: 0,
  close: undefined,
  push: undefined,
  reject: undefined,
  stall: false,
  broadcast: false,
  room: undefined
}

/** Whether a scenario asks for nothing but the echo (a room alone changes where, not how). */
export const isPlainEcho = (scenario: Scenario): boolean => scenario.behaviours.length === 0

/** What a scenario is checked against: the switch and the limits of the deployment. */
export interface ScenarioLimits {
  /** `TEST_BEHAVIOURS`: when false, only `room` is a known parameter. */
  readonly testBehaviours: boolean
  /** What the server sends never exceeds this. */
  readonly maxMessageBytes: number
  /** 0 when the idle timeout is off: a stalled socket would then never end. */
  readonly idleTimeoutSeconds: number
}

/** What each parameter of `/echo` does and takes, in the order docs/behaviours.md gives them. */
export const parameterHelp = {
  room: "a room of sockets: 1 to 64 of A-Z a-z 0-9 . _ -",
  greeting: "text sent right after the upgrade, before any echo: up to 1024 UTF-8 bytes",
  delay_ms: "each echo is sent this many ms after its message arrived: 0 to 10000",
  accept_delay_ms: "the 101 is sent this many ms after the request arrived: 0 to 10000",
  close_code: "the server closes with this code: 1000 to 1003, 1007 to 1014, 3000 to 4999",
  close_reason: "… and this reason: up to 123 UTF-8 bytes",
  close_after: "… once it has sent this many echoes: 0 to 1000000",
  close_after_ms: "… or this many ms after the upgrade, whichever comes first: 0 to 3600000",
  push: "text the server sends on its own, as is: up to 1024 UTF-8 bytes",
  push_every_ms: "… every this many ms: 10 to 3600000 (1000)",
  push_count: "… this many times: 1 to 10000 (1)",
  reject: "the upgrade is refused with this status: 400 to 599 but 426",
  retry_after: "… with this Retry-After, in seconds: 0 to 86400",
  stall: "true: accept, then send nothing and answer no close until the idle timeout",
  info: "true: the first message is the connection's info as JSON (GET /whoami, the subprotocol and the id)",
  broadcast: "true, with room: each message goes, prefixed, to every broadcast socket of the room",
  tap: "publish every event of the socket to the tap of this name (GET /tap/NAME): 8 to 64 of A-Z a-z 0-9 . _ -"
} as const

/**
 * The parameters of `/echo` that ask for a behaviour (all but `room` and `tap`, which change where a socket lives
 * and who watches it, not what it does), in the order of `parameterHelp`.
 */
export const behaviourParameters = (Object.keys(parameterHelp) as Array<keyof typeof parameterHelp>).filter(
  (name): name is Exclude<keyof typeof parameterHelp, "room" | "tap"> => name !== "room" && name !== "tap"
)

/** The names `/echo` knows, with the behaviours on and off. */
const ALL_PARAMETERS: ReadonlyArray<string> = ["room", ...behaviourParameters, "tap"]
const ROOM_ONLY: ReadonlyArray<string> = ["room"]

const ROOM = /^[A-Za-z0-9._-]{1,64}$/
const TAP = /^[A-Za-z0-9._-]{8,64}$/

/** What a tap's name may be, as `InvalidParameter` says it. */
export const TAP_NAME_RULE = "8 to 64 of A-Z a-z 0-9 . _ -"

/** Whether `name` is a tap's name: 8 to 64 of `A-Z a-z 0-9 . _ -`. */
export const isTapName = (name: string): boolean => TAP.test(name)
const DIGITS = /^\d{1,10}$/

type ScenarioError = InvalidParameter | UnknownParameter | InvalidRoom

/**
 * The scenario of an `/echo` URL. A URL without a query costs a string search
 * and returns `noScenario`. Fails with `UnknownParameter` for a name that is not
 * a parameter (only `room` is one when `testBehaviours` is off), with
 * `InvalidParameter` for a value out of its range, a parameter given twice, or
 * one given without the parameter it qualifies, and with `InvalidRoom`.
 */
export const parseScenario = (url: string, limits: ScenarioLimits): Scenario | ScenarioError => {
  const start = url.indexOf("?")
  if (start < 0 || start === url.length - 1) return noScenario
  const known = limits.testBehaviours ? ALL_PARAMETERS : ROOM_ONLY
  const values = new Map<string, string>()
  for (const [name, value] of new URLSearchParams(url.slice(start + 1))) {
    if (!known.includes(name)) return new UnknownParameter({ name, known })
    const before = values.get(name)
    if (before !== undefined) {
      return new InvalidParameter({ name, value: `${before}, ${value}`, allowed: "given once" })
    }
    values.set(name, value)
  }
  const room = values.get("room")
  if (room !== undefined && !ROOM.test(room)) return new InvalidRoom({ room })
  const tap = values.get("tap")
  if (tap !== undefined && !TAP.test(tap))
    return new InvalidParameter({ name: "tap", value: tap, allowed: TAP_NAME_RULE })
  const placing = (room === undefined ? 0 : 1) + (tap === undefined ? 0 : 1)
  if (values.size === placing) {
    if (placing === 0) return noScenario
    return tap === undefined ? { ...noScenario, room } : { ...noScenario, room, tap }
  }

  let failure: InvalidParameter | undefined
  const fail = (name: string, value: string, allowed: string) => {
    failure ??= new InvalidParameter({ name, value, allowed })
    return undefined
  }
  const integer = (
    name: string,
    min: number,
    max: number,
    allowed = `an integer from ${min} to ${max}`,
    accepts: (value: number) => boolean = () => true
  ): number | undefined => {
    const text = values.get(name)
    if (text === undefined) return undefined
    const value = Number(text)
    return DIGITS.test(text) && value >= min && value <= max && accepts(value) ? value : fail(name, text, allowed)
  }
  const boolean = (name: string): boolean => {
    const text = values.get(name)
    if (text === undefined || text === "false") return false
    return text === "true" || (fail(name, text, "true or false") ?? false)
  }
  const textUpTo = (name: string): string | undefined => {
    const text = values.get(name)
    const max = Math.min(MAX_SCENARIO_TEXT_BYTES, limits.maxMessageBytes)
    return text === undefined || byteLength(text) <= max ? text : fail(name, text, `at most ${max} UTF-8 bytes`)
  }
  const onlyWith = (name: string, needs: string) => {
    const text = values.get(name)
    if (text !== undefined && !values.has(needs)) fail(name, text, `given with ${needs}`)
  }

  const greeting = textUpTo("greeting")
  const delayMs = integer("delay_ms", 0, 10_000) ?? 0
  const acceptDelayMs = integer("accept_delay_ms", 0, 10_000) ?? 0
  const closeCode =
    integer(
      "close_code",
      1000,
      4999,
      "a close code from 1000 to 1003, 1007 to 1014 or 3000 to 4999",
      isValidCloseCode
    ) ?? 1000
  const closeReason = values.get("close_reason") ?? ""
  if (byteLength(closeReason) > MAX_CLOSE_REASON_BYTES) {
    fail("close_reason", closeReason, `at most ${MAX_CLOSE_REASON_BYTES} UTF-8 bytes`)
  }
  const afterEchoes = integer("close_after", 0, 1_000_000)
  const afterMs = integer("close_after_ms", 0, 3_600_000)
  const closes =
    values.has("close_code") || values.has("close_reason") || values.has("close_after") || values.has("close_after_ms")
  const pushText = textUpTo("push")
  const everyMs = integer("push_every_ms", 10, 3_600_000) ?? 1_000
  const count = integer("push_count", 1, 10_000) ?? 1
  onlyWith("push_every_ms", "push")
  onlyWith("push_count", "push")
  const status = integer("reject", 400, 599, "an HTTP status from 400 to 599 other than 426", (code) => code !== 426)
  const retryAfter = integer("retry_after", 0, 86_400)
  onlyWith("retry_after", "reject")
  const stall = boolean("stall")
  if (stall && limits.idleTimeoutSeconds === 0) {
    fail("stall", "true", "false while IDLE_TIMEOUT_SECONDS is 0 (a silent socket would never end)")
  }
  const info = boolean("info")
  const broadcast = boolean("broadcast")
  if (broadcast && room === undefined) fail("broadcast", "true", "given with room")
  if (failure !== undefined) return failure

  return {
    behaviours: behaviourParameters.filter((name) => values.has(name)),
    greeting,
    info,
    delayMs,
    acceptDelayMs,
    close: closes ? { frame: { code: closeCode, reason: closeReason }, afterEchoes, afterMs } : undefined,
    push: pushText === undefined ? undefined : { text: pushText, everyMs, count },
    reject: status === undefined ? undefined : { status, retryAfter },
    stall,
    broadcast,
    room,
    ...(tap === undefined ? {} : { tap })
  }
}

/** How many echoes a close waits for: those asked for, none for a close at once, any number for a timed one. */
export const closeAfterEchoes = (close: ScenarioClose): number =>
  close.afterEchoes ?? (close.afterMs === undefined ? 0 : Number.POSITIVE_INFINITY)

/** Whether a value is a scenario, not the error that refused one. */
export const isScenario = (value: Scenario | ScenarioError): value is Scenario => !("_tag" in value)
