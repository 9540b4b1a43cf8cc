import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { isValidCloseCode, MAX_CLOSE_REASON_BYTES } from "../../src/domain/CloseFrame.js"
import {
  type ConnectionConfig,
  type ConnectionMachine,
  type Input,
  type Output,
  open,
  resume,
  step
} from "../../src/domain/ConnectionMachine.js"
import { byteLength } from "../../src/domain/Message.js"

/** Short text, some of it past ASCII, so that sizes in UTF-8 bytes and in characters differ. */
const text = (maxLength: number) =>
  fc.array(fc.constantFrom("a", "é", "€", "😀", "\u0001", " "), { maxLength }).map((parts) => parts.join(""))

const closeCode = fc.oneof(
  fc.integer({ min: 1000, max: 1003 }),
  fc.integer({ min: 1007, max: 1014 }),
  fc.integer({ min: 3000, max: 4999 })
)

const config: fc.Arbitrary<ConnectionConfig> = fc
  .record({
    prefix: fc.constantFrom("", "echo: ", "€ ", null),
    // Mostly roomy limits, so that most runs live long enough to meet the other rules; sometimes tight ones.
    limits: fc.record({
      maxMessageBytes: fc.oneof(
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 48 }) },
        { weight: 3, arbitrary: fc.constant(1_024) }
      ),
      maxMessagesPerSecond: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.integer({ min: 1, max: 5 }) }
      )
    }),
    idleTimeoutMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })),
    delayMs: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 500 })),
    close: fc.option(
      fc.record({
        frame: fc.record({ code: closeCode, reason: text(40).filter((r) => byteLength(r) <= MAX_CLOSE_REASON_BYTES) }),
        afterEchoes: fc.option(fc.integer({ min: 0, max: 4 }), { nil: undefined }),
        afterMs: fc.option(fc.integer({ min: 0, max: 3_000 }), { nil: undefined })
      })
    ),
    push: fc.option(
      fc.record({ text: text(8), everyMs: fc.integer({ min: 10, max: 700 }), count: fc.integer({ min: 1, max: 5 }) })
    ),
    stall: fc.boolean(),
    broadcast: fc.boolean()
  })
  .map((config) =>
    // An application (the stream's echo, a Socket) answers in a Worker: it has no room to broadcast to.
    config.prefix === null ? { ...config, broadcast: false } : config
  )

const message = fc.oneof(
  text(30),
  fc.integer({ min: 0, max: 60 }).map((size) => new Uint8Array(size).buffer)
)

/** 40 to 70 characters of 1 to 4 UTF-8 bytes: around the 123 bytes a close reason may have. */
const longText = fc
  .array(fc.constantFrom("a", "é", "€", "😀", "\u0001"), { minLength: 40, maxLength: 70 })
  .map((parts) => parts.join(""))

/** Any code a close event may carry: valid, no code, a drop, reserved, out of range. */
const peerCode = fc.oneof(
  closeCode,
  fc.constantFrom(1005, 1006, 1006, 0, 999, 1004, 1015, 1016, 2999, 5000, 65_535),
  fc.integer({ min: 0, max: 70_000 })
)

const input: fc.Arbitrary<Input> = fc.oneof(
  { weight: 12, arbitrary: message.map((message) => ({ _tag: "Message" as const, message })) },
  { weight: 2, arbitrary: text(10).map((message) => ({ _tag: "Deliver" as const, message })) },
  {
    weight: 3,
    arbitrary: fc.record(
      {
        _tag: fc.constant("PeerClose" as const),
        code: peerCode,
        // Up to 280 bytes: past the 123 a control frame holds, as a broken client sends.
        reason: fc.oneof(text(6), longText),
        wasClean: fc.boolean()
      },
      { requiredKeys: ["_tag", "code", "reason"] }
    )
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "TransportLost" as const }) },
  { weight: 8, arbitrary: fc.constant({ _tag: "Tick" as const }) },
  {
    weight: 1,
    arbitrary: fc.integer({ min: 0, max: 2_000 }).map((back) => ({ _tag: "Activity" as const, at: -back }))
  },
  { weight: 1, arbitrary: fc.constantFrom({ _tag: "Stop" as const }, { _tag: "Fail" as const }) },
  { weight: 2, arbitrary: text(6).map((message) => ({ _tag: "Send" as const, message })) },
  {
    weight: 1,
    arbitrary: fc
      .record({ code: fc.constantFrom(1000, 4000), reason: text(6) })
      .map((frame) => ({ _tag: "RequestClose" as const, frame }))
  },
  { weight: 1, arbitrary: fc.constant({ _tag: "Drained" as const }) },
  { weight: 6, arbitrary: text(6).map((message) => ({ _tag: "Reply" as const, message })) }
)

/** Inputs, each after a pause (ms) from the one before: time only moves forward. */
const run = fc.array(fc.tuple(fc.integer({ min: 0, max: 1_500 }), input), { maxLength: 40 })

const T0 = 1_700_000_000_000

/** Checks one output against what was seen before it, and returns what is known after it. */
const check = (
  out: Output,
  now: number,
  before: { readonly ended: boolean; readonly closed: boolean; readonly sent: number }
): { readonly ended: boolean; readonly closed: boolean; readonly sent: number } => {
  if (before.ended) {
    expect(out.send).toEqual([])
    expect(out.close).toBeNull()
    expect(out.relay).toBeNull()
    expect(out.ended).toBeNull()
  }
  if (before.closed) {
    expect(out.send, "nothing is sent after the close frame").toEqual([])
    expect(out.close, "one close frame").toBeNull()
  }
  if (out.close !== null) {
    expect(isValidCloseCode(out.close.code), `code ${out.close.code}`).toBe(true)
    expect(byteLength(out.close.reason)).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES)
  }
  const ended = before.ended || out.ended !== null
  if (ended) expect(out.nextWakeAt).toBeNull()
  else if (out.nextWakeAt !== null) expect(out.nextWakeAt).toBeGreaterThan(now)
  return { ended, closed: before.closed || out.close !== null, sent: before.sent + out.send.length }
}

/** An output as a value, to compare two machines' steps. */
const seen = (out: Output) => ({ ...out, send: [...out.send] })

describe("ConnectionMachine: properties over random connections", () => {
  it("ends exactly once; sends nothing after its close frame or its end; wakes in the future; closes validly", () => {
    fc.assert(
      fc.property(config, run, fc.option(text(20), { nil: undefined }), (config, inputs, greeting) => {
        let now = T0
        const machine = open(config, now, { greeting })
        let known = check(machine.out, now, { ended: false, closed: false, sent: 0 })
        let ends = 0
        let closeCode = machine.out.close?.code ?? null
        const feed = (input: Input) => {
          const dropped =
            input._tag === "TransportLost" ||
            (input._tag === "PeerClose" &&
              (input.wasClean === false || (input.code === 1006 && input.wasClean !== true)))
          // What was due before a drop (an idle timeout, a timed close, an owed answer) goes out in a step of its own,
          // so that the drop's step shows what the drop alone does.
          if (dropped) feed({ _tag: "Tick" })
          const wasEnded = known.ended
          const out = step(machine, config, input._tag === "Activity" ? { ...input, at: now + input.at } : input, now)
          if (dropped) {
            expect(out.close, "nothing answers a drop").toBeNull()
            expect(wasEnded || out.ended !== null, "a drop ends the connection").toBe(true)
          }
          if (config.stall && input._tag !== "Send" && input._tag !== "RequestClose") {
            expect(out.send, "a stalled socket sends nothing").toEqual([])
            if (out.close !== null) expect([1001, 1008, 1009, 1011]).toContain(out.close.code)
          }
          if (out.close !== null) closeCode = out.close.code
          if (out.ended !== null) {
            ends++
            expect(out.ended.closeCode).toBe(closeCode)
          }
          known = check(out, now, known)
        }
        for (const [pause, input] of inputs) {
          now += pause
          // The application's inputs exist only where an application answers (prefix null).
          const ours =
            input._tag === "Send" || input._tag === "RequestClose" || input._tag === "Drained" || input._tag === "Reply"
          feed(ours && config.prefix !== null ? { _tag: "Tick" } : input)
        }
        // A day of silence ends every connection but an open one without an idle timeout: a close on request at
        // its deadline, an answer owed at its own.
        for (let day = 0; day < 2; day++) {
          now += 86_400_000
          feed({ _tag: "Tick" })
        }
        const { phase } = machine.state
        expect(phase === "ended" || (phase === "open" && config.idleTimeoutMs === 0), phase).toBe(true)
        // The peer's close and another day end that one too (a stalled socket answers after the closing bound).
        now += 1
        feed({ _tag: "PeerClose", code: 1000, reason: "" })
        now += 86_400_000
        feed({ _tag: "Tick" })
        expect(ends).toBe(1)
        expect(machine.state.phase).toBe("ended")
        expect(machine.delayed).toEqual([])
        expect(machine.state.traffic.messagesOut).toBe(known.sent)
      }),
      { numRuns: 400 }
    )
  })

  it("the state is the whole truth whenever no echo is held: a JSON copy takes the same steps", () => {
    fc.assert(
      fc.property(config, run, (config, inputs) => {
        let now = T0
        const original = open(config, now)
        let copy: ConnectionMachine = resume(JSON.parse(JSON.stringify(original.state)))
        for (const [pause, input] of inputs) {
          now += pause
          const given = input._tag === "Activity" ? { ...input, at: now + input.at } : input
          const expected = seen(step(original, config, given, now))
          expect(seen(step(copy, config, given, now))).toEqual(expected)
          expect(copy.delayed.length).toBe(original.delayed.length)
          // Held echoes live in memory only: a copy is taken while none is held, as a Durable Object would be
          // evicted only then.
          if (original.delayed.length === 0) copy = resume(JSON.parse(JSON.stringify(original.state)))
        }
        expect(copy.state).toEqual(original.state)
      }),
      { numRuns: 200 }
    )
  })
})
