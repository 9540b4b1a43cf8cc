/** A small seeded PRNG (mulberry32), so a failing fuzz run can be replayed. */
export const random = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
  }
}

/** One odd request: its raw bytes, its method and request target, and whether it asks for a WebSocket upgrade. */
export interface FuzzRequest {
  readonly bytes: Buffer
  readonly method: string
  /** The request target as sent; `?` for garbage. */
  readonly target: string
  readonly handshake: boolean
  /** Bytes after the head: after a 101, the server reads them as WebSocket frames. */
  readonly bodyBytes: number
  /**
   * The code a `close_code` in the query asks the server to close with on its own: a 101's socket may end with
   * it rather than with the mirror of the client's close.
   */
  readonly requestedClose: number | undefined
}

const METHODS = [
  "GET",
  "GET",
  "GET",
  "HEAD",
  "POST",
  "PUT",
  "DELETE",
  "OPTIONS",
  "PATCH",
  "TRACE",
  "get",
  "FOO",
  "G\tET"
]
const PATHS = [
  "/echo",
  "/echo",
  "/echo/",
  "/echo?x=1",
  "/ECHO",
  "/",
  "//echo",
  "/echo/../echo",
  "/%00",
  "/%ff%fe",
  "/echo#frag",
  "*",
  "http://127.0.0.1/echo",
  `/${"a".repeat(8_000)}`,
  "/health",
  "/é",
  // The RPC route, with each serialization and values it refuses (400 before the upgrade).
  "/rpc",
  "/rpc",
  "/rpc/",
  "/RPC",
  "/rpc?serialization=json",
  "/rpc?serialization=ndjson",
  "/rpc?serialization=msgpack",
  "/rpc?serialization=xml",
  "/rpc?serialization=",
  "/rpc?serialization=msgpack&serialization=%ff",
  "/rpc?serialization=%00",
  // The taps: a watcher, the history or the page by the method and headers drawn; names it refuses (400).
  "/tap/fuzz-tap-a",
  "/tap/fuzz-tap-a",
  "/tap/fuzz-tap-b/",
  "/tap/fuzz-tap-a?x=1",
  "/TAP/fuzz-tap-a",
  "/tap/",
  "/tap",
  "/tap/short",
  `/tap/${"t".repeat(65)}`,
  "/tap/fuzz-tap-a/extra",
  "/tap/%00%00%00%00%00%00%00%00",
  "/tap/%C3%A9%C3%A9%C3%A9%C3%A9"
]
const VERSIONS = ["HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2.0", "HTTP/9.9", "HTTP/1.1x", ""]

/** A query of `/echo`'s behaviour parameters, URL-encoded, and the close code it asks for, if any. */
export interface BehaviourQuery {
  readonly query: string
  readonly requestedClose: number | undefined
}

const CLOSE_CODES = [1000, 1001, 1003, 1008, 1011, 1012, 1014, 3000, 4000, 4999]
const TEXTS = ["hi", "héllo → 世界 🌍", "", "a&b=c;d", "%", "x".repeat(1_024), "é".repeat(512)]
const ROOMS = ["fuzz-a", "fuzz-b", "fuzz.c"]
const TAPS = ["fuzz-tap-a", "fuzz-tap-b", "fuzz_tap.c-0123456789"]

/**
 * Builds a query of valid and invalid combinations of `/echo`'s parameters. Bounded so that every socket it
 * makes ends within a second once its client closes: delays of at most 50 ms, a close at most 200 ms after
 * the upgrade, at most 3 pushes 10 to 50 ms apart. Never `stall=true`: a stalled socket answers no close, and
 * only the idle timeout (600 s here) would end it. Refusals are 4xx: a 5xx from the Worker is what the fuzz
 * looks for.
 */
export const behaviourQuery = (next: () => number): BehaviourQuery => {
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)] as A
  const upTo = (max: number) => Math.floor(next() * (max + 1))
  const text = (value: string) => encodeURIComponent(value)
  const valid: ReadonlyArray<() => Array<string>> = [
    () => [`greeting=${text(pick(TEXTS))}`],
    // Escapes that URLSearchParams keeps as they are, or decodes to U+FFFD, and `+` for a space.
    () => [pick(["greeting=%ZZ", "greeting=%FF%FE", "greeting=a+b"])],
    () => [`delay_ms=${upTo(50)}`],
    () => [`accept_delay_ms=${upTo(50)}`],
    () => [`close_code=${pick(CLOSE_CODES)}`],
    () => [`close_reason=${text(pick(["bye", "", "é".repeat(61), "r".repeat(123)]))}`],
    () => [`close_after=${upTo(3)}`],
    () => [`close_after_ms=${upTo(200)}`],
    () => [
      `push=${text(pick(TEXTS))}`,
      ...(next() < 0.7 ? [`push_every_ms=${10 + upTo(40)}`] : []),
      ...(next() < 0.7 ? [`push_count=${1 + upTo(2)}`] : [])
    ],
    () => [
      `reject=${pick([400, 403, 404, 408, 429, 451, 499])}`,
      ...(next() < 0.5 ? [`retry_after=${upTo(120)}`] : [])
    ],
    () => ["stall=false"],
    () => [`info=${pick(["true", "false"])}`],
    () => ["broadcast=true", `room=${pick(ROOMS)}`],
    () => [`room=${pick(ROOMS)}`],
    () => [`tap=${pick(TAPS)}`]
  ]
  const invalid: ReadonlyArray<() => Array<string>> = [
    () => [`close_code=${pick(["0", "999", "1004", "1005", "1006", "1015", "2999", "5000", "65536", "x", ""])}`],
    () => [`close_reason=${"r".repeat(124)}`],
    () => [`delay_ms=${pick(["-1", "1.5", "10001", "", "1e3", "%205", "0x10", "99999999999"])}`],
    () => ["accept_delay_ms=10001"],
    () => [pick(["close_after=-1", "close_after=1000001", "close_after_ms=3600001"])],
    () => ["push=tick", pick(["push_every_ms=9", "push_every_ms=0", "push_count=0", "push_count=10001"])],
    () => [pick(["push_count=2", "push_every_ms=10"])],
    () => [`reject=${pick(["426", "600", "399", "4O4", ""])}`],
    () => ["reject=429", "retry_after=86401"],
    () => ["retry_after=5"],
    () => [`stall=${pick(["yes", "TRUE", "1", ""])}`],
    () => [`info=${pick(["1", "yes"])}`],
    () => ["broadcast=true"],
    () => [pick([`greeting=${"g".repeat(1_025)}`, `push=${text("é".repeat(513))}`])],
    () => [`${pick(["unknown", "Delay_ms", "delay-ms", "", "%00", "greeting%20"])}=1`],
    () => ["delay_ms=1", "delay_ms=2"],
    () => [`room=${text(pick(["a b", "r".repeat(65), "", "é"]))}`],
    () => [`tap=${text(pick(["short", "t".repeat(65), "a b c d e f", "é".repeat(8), ""]))}`]
  ]
  const parts: Array<string> = []
  for (let i = 1 + upTo(3); i > 0; i--) parts.push(...pick(valid)())
  if (next() < 0.3) parts.splice(upTo(parts.length), 0, ...pick(invalid)())
  const query = parts.join("&")
  const code = /(?:^|&)close_code=(\d+)(?:&|$)/.exec(query)?.[1]
  return { query, requestedClose: code !== undefined && CLOSE_CODES.includes(Number(code)) ? Number(code) : undefined }
}

/**
 * Builds `count` malformed or odd HTTP requests for `host`, the same ones for the same seed. About one in four
 * asks `/echo` for behaviours (`behaviourQuery`), and most of those are complete upgrades, so that the sockets
 * they make, and the refusals of bad queries, are fuzzed too. Their queries come from a PRNG of their own
 * (the next seed), so that a query's shape does not depend on how many draws the rest of its request took.
 */
export const fuzzRequests = (count: number, host: string, seed = 6455): ReadonlyArray<FuzzRequest> => {
  const next = random(seed)
  const behaviours = random(seed + 1)
  const pick = <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)] as A
  const chance = (p: number) => next() < p
  const requests: Array<FuzzRequest> = []
  for (let i = 0; i < count; i++) {
    if (chance(0.05)) {
      // Garbage bytes, sometimes after a plausible first line.
      const garbage = Buffer.from(
        Array.from({ length: 1 + Math.floor(next() * 2_000) }, () => Math.floor(next() * 256))
      )
      const prefix = chance(0.5) ? Buffer.from("GET /echo HTTP/1.1\r\n") : Buffer.alloc(0)
      const bytes = Buffer.concat([prefix, garbage, Buffer.from("\r\n\r\n")])
      requests.push({ bytes, method: "?", target: "?", handshake: false, bodyBytes: 0, requestedClose: undefined })
      continue
    }
    const behaviour = behaviours() < 0.25 ? behaviourQuery(behaviours) : undefined
    // Most behaviour requests are a GET over HTTP/1.1 with a complete handshake: they make sockets.
    const upgradeWith = behaviour !== undefined && behaviours() < 0.7 ? behaviour : undefined
    const method = upgradeWith === undefined ? pick(METHODS) : "GET"
    const headers: Array<string> = []
    if (!chance(0.05)) headers.push(`Host: ${host}`)
    // One request in ten carries a complete, valid handshake, so that odd methods, targets, versions and extra
    // headers also reach the routes' own upgrade paths; the rest get each handshake header at random.
    const complete = chance(0.1) || upgradeWith !== undefined
    const upgrade =
      complete || chance(0.6)
        ? complete
          ? "websocket"
          : pick(["websocket", "WebSocket", "websocket, h2c", "h2c", "", "websocket\u0000"])
        : undefined
    if (upgrade !== undefined) headers.push(`Upgrade: ${upgrade}`)
    if (complete) {
      headers.push("Connection: Upgrade", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version: 13")
    } else {
      if (chance(0.6))
        headers.push(
          `Connection: ${pick(["Upgrade", "upgrade", "keep-alive, Upgrade", "close", "", "Upgrade, Upgrade"])}`
        )
      if (chance(0.6)) {
        headers.push(`Sec-WebSocket-Key: ${pick(["dGhlIHNhbXBsZSBub25jZQ==", "", "abc", "!!!!", "x".repeat(300)])}`)
      }
      if (chance(0.6))
        headers.push(`Sec-WebSocket-Version: ${pick(["13", "13", "8", "", "13, 8", "abc", "99999999999"])}`)
    }
    if (chance(0.2))
      headers.push(`Origin: ${pick(["https://a.example", "null", "", "garbage", "https://x.example:99999"])}`)
    if (chance(0.1)) headers.push(`Sec-WebSocket-Extensions: ${pick(["permessage-deflate", "x-unknown", ";;;"])}`)
    if (chance(0.1)) headers.push(`Sec-WebSocket-Protocol: ${pick(["chat", "a, b", "", "\u00ff"])}`)
    if (chance(0.05)) headers.push(`X-Big: ${"b".repeat(pick([8_000, 32_000, 70_000, 200_000]))}`)
    if (chance(0.05)) for (let h = 0; h < 150; h++) headers.push(`X-Many-${h}: ${h}`)
    if (chance(0.05)) headers.push("No colon in this header line")
    if (chance(0.05)) headers.push(`Bad\u0001Name: value`)
    if (chance(0.03)) headers.push("Upgrade: websocket", "Upgrade: h2c")
    // Bodies are never cut short: `wrangler dev` 4.72 itself exits when clients hang up while its dev-only
    // middleware still drains an unread body that never arrives (found by this fuzz; docs/robustness.md).
    // A Content-Length shorter than the body leaves bytes that the server must read as the next request.
    let body = ""
    if (chance(0.1)) {
      body = "x".repeat(Math.floor(next() * 100))
      headers.push(`Content-Length: ${pick([body.length, Math.max(0, body.length - 5), -1, "abc", "1, 2"])}`)
    } else if (chance(0.05)) {
      headers.push("Transfer-Encoding: chunked")
      body = pick(["5\r\nhello\r\n0\r\n\r\n", "0\r\n\r\n"])
    }
    const target = behaviour === undefined ? pick(PATHS) : `/echo?${behaviour.query}`
    const line = `${method} ${target} ${upgradeWith === undefined ? pick(VERSIONS) : "HTTP/1.1"}`.trimEnd()
    requests.push({
      bytes: Buffer.from(`${line}\r\n${headers.join("\r\n")}\r\n\r\n${body}`, "latin1"),
      method,
      target,
      handshake: upgrade !== undefined && /websocket/i.test(upgrade),
      bodyBytes: body.length,
      requestedClose: behaviour?.requestedClose
    })
  }
  return requests
}
