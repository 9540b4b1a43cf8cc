import { describe, expect, it } from "vitest"
import { MAX_CLOSE_REASON_BYTES } from "../../src/domain/CloseFrame.js"
import {
  CLOSE_TIMEOUT_MS,
  type ConnectionConfig,
  type ConnectionMachine,
  carried,
  connectionConfig,
  deliver,
  drained,
  fail,
  logFields,
  MAX_ATTACHMENT_BYTES,
  noteActivity,
  type Output,
  open,
  peerClose,
  receive,
  reply,
  requestClose,
  resume,
  send,
  step,
  stop,
  tick,
  transportLost,
  worstCaseAttachment
} from "../../src/domain/ConnectionMachine.js"
import { byteLength, MAX_PREFIX_BYTES } from "../../src/domain/Message.js"
import { behaviourParameters, isScenario, MAX_SCENARIO_TEXT_BYTES, parseScenario } from "../../src/domain/Scenario.js"
import { MAX_SUBPROTOCOL_BYTES } from "../../src/domain/Subprotocol.js"

const T0 = 1_000_000

/** A connection's config as the Worker would build it: the deployment's settings and `/echo`'s query, parsed. */
const configOf = (
  query = "",
  { maxMessageBytes = 16, maxMessagesPerSecond = 0, idleTimeoutMs = 0, prefix = "echo: " } = {}
): ConnectionConfig => {
  const scenario = parseScenario(`http://echo.test/echo${query}`, {
    testBehaviours: true,
    maxMessageBytes,
    idleTimeoutSeconds: idleTimeoutMs / 1000
  })
  if (!isScenario(scenario)) throw new Error(`not a scenario: ${query}`)
  return connectionConfig({ prefix, limits: { maxMessageBytes, maxMessagesPerSecond }, idleTimeoutMs }, scenario)
}

/** An output as a value: the machine reuses its output object, so a test copies what it checks. */
const seen = (out: Output) => ({
  send: [...out.send],
  close: out.close,
  relay: out.relay,
  ended: out.ended,
  nextWakeAt: out.nextWakeAt
})

/** What a step sent, as text (binary as `bytes:<utf-8>`), then the close frame if any. */
const wire = (out: Output) => [
  ...out.send.map((message) =>
    typeof message === "string" ? message : `bytes:${new TextDecoder().decode(message as ArrayBuffer)}`
  ),
  ...(out.close === null ? [] : [`close ${out.close.code} ${out.close.reason}`])
]

const nothing = { send: [], close: null, relay: null, ended: null }

/** A machine and its config, with each input as a method that returns what the step sent. */
const connect = (config: ConnectionConfig, opening = {}) => {
  const machine: ConnectionMachine = open(config, T0, opening)
  const opened = seen(machine.out)
  return {
    machine,
    opened,
    receive: (message: string | ArrayBuffer, at: number) => seen(receive(machine, config, message, T0 + at)),
    deliver: (message: string, at: number) => seen(deliver(machine, config, message, T0 + at)),
    peerClose: (code: number, reason: string, at: number, wasClean?: boolean) =>
      seen(peerClose(machine, config, wasClean === undefined ? { code, reason } : { code, reason, wasClean }, T0 + at)),
    transportLost: (at: number) => seen(transportLost(machine, config, T0 + at)),
    tick: (at: number) => seen(tick(machine, config, T0 + at))
  }
}

const ended = (why: string, fields: Record<string, unknown> = {}) => expect.objectContaining({ why, ...fields })

describe("ConnectionMachine: open", () => {
  it("sends nothing for the plain echo and has nothing to wake for without an idle timeout", () => {
    const { opened, machine } = connect(configOf())
    expect(opened).toEqual({ ...nothing, nextWakeAt: null })
    expect(machine.state.phase).toBe("open")
  })

  it("sends the info, then the greeting, counted as sent", () => {
    const { opened, machine } = connect(configOf("?greeting=hi&info=true"), { info: '{"id":1}', greeting: "hi" })
    expect(opened.send).toEqual(['{"id":1}', "hi"])
    expect(machine.state.traffic).toMatchObject({ messagesOut: 2, bytesOut: 10 })
  })

  it("closes right after the info and the greeting when no after parameter says when, and waits for the answer", () => {
    const config = configOf("?greeting=hi&close_code=4001&close_reason=bye")
    const { opened, machine } = connect(config, { greeting: "hi" })
    expect(opened).toEqual({ ...nothing, send: ["hi"], close: { code: 4001, reason: "bye" }, nextWakeAt: T0 + 30_000 })
    expect(machine.state.phase).toBe("closing")
    expect(connect(configOf("?close_after=0")).opened.close).toEqual({ code: 1000, reason: "" })
    expect(connect(configOf("?close_after_ms=0")).opened.close).toEqual({ code: 1000, reason: "" })
  })

  it("sends nothing at all for a stalled socket: no info, greeting, push or close", () => {
    const config = configOf("?stall=true&greeting=hi&info=true&push=p&close_code=4001", { idleTimeoutMs: 1_000 })
    const { opened } = connect(config, { info: "{}", greeting: "hi" })
    expect(opened).toEqual({ ...nothing, nextWakeAt: T0 + 1_000 })
  })
})

describe("ConnectionMachine: admission", () => {
  it("echoes text and binary with the prefix, a message of exactly the limit included, and counts both ways", () => {
    const socket = connect(configOf("", { maxMessageBytes: 4 }))
    expect(socket.receive("€a", 1).send).toEqual(["echo: €a"])
    const binary = socket.receive(new Uint8Array([1, 2, 3, 4]).buffer, 2).send[0] as ArrayBuffer
    expect([...new Uint8Array(binary)]).toEqual([...new TextEncoder().encode("echo: "), 1, 2, 3, 4])
    expect(socket.machine.state.traffic).toMatchObject({ messagesIn: 2, bytesIn: 8, messagesOut: 2, bytesOut: 20 })
  })

  it("closes with 1009 and ends at a message over the size limit, in UTF-8 bytes, without echoing it", () => {
    const socket = connect(configOf("", { maxMessageBytes: 5 }))
    socket.receive("a", 10)
    expect(socket.receive("€€", 25)).toEqual({
      ...nothing,
      close: { code: 1009, reason: "message too big" },
      ended: {
        why: "too-big",
        durationMs: 25,
        messagesIn: 1,
        bytesIn: 1,
        messagesOut: 1,
        bytesOut: 7,
        peerCloseCode: null,
        closeCode: 1009
      },
      nextWakeAt: null
    })
  })

  it("defect: frames after a limit close are not echoed, and do not end the connection twice", () => {
    const socket = connect(configOf("", { maxMessageBytes: 2 }))
    expect(socket.receive("too big", 1).ended).toEqual(ended("too-big"))
    expect(socket.receive("a", 2)).toEqual({ ...nothing, nextWakeAt: null })
    expect(socket.receive("too big again", 3)).toEqual({ ...nothing, nextWakeAt: null })
    expect(socket.peerClose(1009, "", 4)).toEqual({ ...nothing, nextWakeAt: null })
    expect(socket.transportLost(5)).toEqual({ ...nothing, nextWakeAt: null })
    expect(socket.machine.state.traffic.messagesIn).toBe(0)
  })

  it("closes with 1008 at the first message over the rate, burst included, and refills the bucket with time", () => {
    const socket = connect(configOf("", { maxMessagesPerSecond: 2 }))
    expect(socket.receive("a", 0).send).toEqual(["echo: a"])
    expect(socket.receive("b", 0).send).toEqual(["echo: b"])
    expect(socket.receive("c", 500).send).toEqual(["echo: c"])
    expect(socket.receive("d", 500)).toMatchObject({ send: [], close: { code: 1008, reason: "rate limit" } })
    expect(socket.machine.state.phase).toBe("ended")
  })

  it("a stalled socket still takes the limits: its 1009 is a close it sends", () => {
    const socket = connect(configOf("?stall=true", { maxMessageBytes: 2, idleTimeoutMs: 1_000 }))
    expect(socket.receive("ok", 1)).toEqual({ ...nothing, nextWakeAt: T0 + 1_001 })
    expect(wire(receive(socket.machine, configOf("", { maxMessageBytes: 2 }), "abc", T0 + 2))).toEqual([
      "close 1009 message too big"
    ])
  })
})

describe("ConnectionMachine: idle timeout", () => {
  it("closes with 1001 after the idle timeout of silence both ways, counted from the last message", () => {
    const socket = connect(configOf("", { idleTimeoutMs: 1_000 }))
    expect(socket.receive("a", 400).nextWakeAt).toBe(T0 + 1_400)
    expect(socket.tick(1_399)).toEqual({ ...nothing, nextWakeAt: T0 + 1_400 })
    expect(socket.tick(1_400)).toMatchObject({
      close: { code: 1001, reason: "idle timeout" },
      ended: ended("idle", { durationMs: 1_400, peerCloseCode: null, closeCode: 1001 }),
      nextWakeAt: null
    })
  })

  it("never wakes for an idle timeout of 0", () => {
    const socket = connect(configOf())
    expect(socket.receive("a", 1).nextWakeAt).toBeNull()
    expect(socket.tick(86_400_000)).toEqual({ ...nothing, nextWakeAt: null })
  })

  it("counts the server's pushes as activity", () => {
    const socket = connect(configOf("?push=tick&push_every_ms=600&push_count=2", { idleTimeoutMs: 1_000 }))
    expect(socket.opened.nextWakeAt).toBe(T0 + 600)
    expect(socket.tick(600)).toMatchObject({ send: ["tick"], nextWakeAt: T0 + 1_200 })
    expect(socket.tick(1_200)).toMatchObject({ send: ["tick"], nextWakeAt: T0 + 2_200 })
    expect(socket.tick(2_200).close).toEqual({ code: 1001, reason: "idle timeout" })
  })

  it("an echo or a push due at the very instant the idle timeout falls goes out, and is activity", () => {
    const delayed = connect(configOf("?delay_ms=1000", { idleTimeoutMs: 1_000 }))
    delayed.receive("a", 0)
    expect(delayed.tick(1_000)).toMatchObject({ send: ["echo: a"], close: null, nextWakeAt: T0 + 2_000 })
    const pushed = connect(configOf("?push=p&push_every_ms=1000&push_count=2", { idleTimeoutMs: 1_000 }))
    expect(pushed.tick(1_000)).toMatchObject({ send: ["p"], close: null, nextWakeAt: T0 + 2_000 })
  })

  it("a message handed over after an overdue idle timeout is activity: echoed, never preceded by the idle close", () => {
    const socket = connect(configOf("", { idleTimeoutMs: 1_000 }))
    expect(socket.receive("late", 5_000)).toMatchObject({ send: ["echo: late"], close: null, ended: null })
    expect(socket.machine.out.nextWakeAt).toBe(T0 + 6_000)
  })

  it("any other input after an overdue idle timeout finds the connection closed for idleness first", () => {
    const socket = connect(configOf("", { idleTimeoutMs: 1_000 }))
    expect(socket.peerClose(1000, "", 5_000)).toMatchObject({
      close: { code: 1001, reason: "idle timeout" },
      ended: ended("idle", { durationMs: 5_000 })
    })
  })

  it("takes traffic the runtime answered for it (a room's ping) as activity, not as a message", () => {
    const config = configOf("", { idleTimeoutMs: 1_000 })
    const { machine } = connect(config)
    expect(noteActivity(machine, config, T0 + 800, T0 + 900).nextWakeAt).toBe(T0 + 1_800)
    expect(machine.state.traffic.messagesIn).toBe(0)
  })
})

describe("ConnectionMachine: the peer's close", () => {
  it("mirrors a code that may be sent, with its reason, and ends", () => {
    const socket = connect(configOf())
    socket.receive("a", 1)
    expect(socket.peerClose(4001, "bye", 2)).toEqual({
      ...nothing,
      close: { code: 4001, reason: "bye" },
      ended: {
        why: "peer-close",
        durationMs: 2,
        messagesIn: 1,
        bytesIn: 1,
        messagesOut: 1,
        bytesOut: 7,
        peerCloseCode: 4001,
        closeCode: 4001
      },
      nextWakeAt: null
    })
  })

  it("answers a close without a code (1005) with 1000", () => {
    expect(connect(configOf()).peerClose(1005, "", 1)).toMatchObject({
      close: { code: 1000, reason: "" },
      ended: ended("peer-close", { peerCloseCode: 1005, closeCode: 1000 })
    })
  })

  it("answers a code that may not be sent with 1002 invalid close code", () => {
    for (const code of [0, 999, 1004, 1015, 1016, 2999, 5000, 65_535]) {
      expect(connect(configOf()).peerClose(code, "x", 1)).toMatchObject({
        close: { code: 1002, reason: "invalid close code" },
        ended: ended("protocol-error", { peerCloseCode: code, closeCode: 1002 })
      })
    }
  })

  it("defect: a reason over 123 bytes is answered with 1002 and the end, never with the long reason", () => {
    const longest = `${"é".repeat(61)}x`
    expect(byteLength(longest)).toBe(MAX_CLOSE_REASON_BYTES)
    expect(connect(configOf()).peerClose(4001, longest, 1).close).toEqual({ code: 4001, reason: longest })
    const out = connect(configOf()).peerClose(4001, `${longest}x`, 1)
    expect(out).toMatchObject({
      send: [],
      close: { code: 1002, reason: "close reason too long" },
      ended: ended("protocol-error", { peerCloseCode: 4001, closeCode: 1002 })
    })
  })

  it("defect: a dropped peer (1006) ends as a lost transport, with no close frame and no 1002", () => {
    const socket = connect(configOf("", { idleTimeoutMs: 1_000 }))
    socket.receive("a", 1)
    expect(socket.peerClose(1006, "WebSocket disconnected without sending Close frame.", 2, false)).toEqual({
      ...nothing,
      ended: {
        why: "transport",
        durationMs: 2,
        messagesIn: 1,
        bytesIn: 1,
        messagesOut: 1,
        bytesOut: 7,
        peerCloseCode: 1006,
        closeCode: null
      },
      nextWakeAt: null
    })
    expect(connect(configOf()).peerClose(1006, "", 1)).toMatchObject({ close: null, ended: ended("transport") })
  })

  it("answers a 1006 that was on the wire (a clean close frame) with 1002: no endpoint may send it", () => {
    expect(connect(configOf()).peerClose(1006, "odd", 1, true)).toMatchObject({
      close: { code: 1002, reason: "invalid close code" },
      ended: ended("protocol-error", { peerCloseCode: 1006 })
    })
  })

  it("a transport failure ends with no close frame, logged with 1006 for the peer", () => {
    const socket = connect(configOf("?delay_ms=100"))
    socket.receive("a", 1)
    expect(socket.transportLost(2)).toEqual({
      ...nothing,
      ended: expect.objectContaining({ why: "transport", peerCloseCode: 1006, closeCode: null }),
      nextWakeAt: null
    })
    expect(socket.machine.delayed).toEqual([])
  })

  it("echoes the messages that arrived before the peer's close first, each after its delay, then answers", () => {
    const socket = connect(configOf("?delay_ms=100"))
    socket.receive("a", 0)
    socket.receive("b", 50)
    expect(socket.peerClose(1000, "done", 60)).toEqual({ ...nothing, nextWakeAt: T0 + 100 })
    expect(socket.machine.state.phase).toBe("answering")
    expect(socket.receive("after the close", 70)).toEqual({ ...nothing, nextWakeAt: T0 + 100 })
    expect(socket.deliver("relayed after the close", 70).send).toEqual([])
    expect(wire(tick(socket.machine, configOf("?delay_ms=100"), T0 + 100))).toEqual(["echo: a"])
    expect(socket.tick(150)).toMatchObject({
      send: ["echo: b"],
      close: { code: 1000, reason: "done" },
      // A frame read after a close is counted, never echoed.
      ended: ended("peer-close", { messagesIn: 3, messagesOut: 2, durationMs: 150 })
    })
  })

  it("a late wake sends every owed echo, then the answer, in one step", () => {
    const socket = connect(configOf("?delay_ms=100"))
    socket.receive("a", 0)
    socket.receive("b", 10)
    socket.peerClose(4000, "", 20)
    expect(wire(tick(socket.machine, configOf("?delay_ms=100"), T0 + 5_000))).toEqual([
      "echo: a",
      "echo: b",
      "close 4000 "
    ])
  })

  it("answers from the state alone when the delayed echoes were lost with an evicted instance", () => {
    const config = configOf("?delay_ms=100")
    const socket = connect(config)
    socket.receive("a", 0)
    socket.peerClose(1000, "", 10)
    const woken = resume(JSON.parse(JSON.stringify(socket.machine.state)))
    expect(tick(woken, config, T0 + 99).close).toBeNull()
    expect(seen(tick(woken, config, T0 + 100))).toMatchObject({ send: [], close: { code: 1000 }, nextWakeAt: null })
  })
})

describe("ConnectionMachine: a close on request (close_code, close_after, close_after_ms)", () => {
  it("closes once it has sent close_after echoes, ignores later frames, and ends when the peer answers", () => {
    const socket = connect(configOf("?close_code=4001&close_reason=bye&close_after=2"))
    expect(socket.receive("a", 1).send).toEqual(["echo: a"])
    expect(socket.receive("b", 2)).toMatchObject({ send: ["echo: b"], close: { code: 4001, reason: "bye" } })
    expect(socket.receive("c", 3)).toEqual({ ...nothing, nextWakeAt: T0 + 2 + CLOSE_TIMEOUT_MS })
    expect(socket.peerClose(4001, "bye", 4)).toEqual({
      ...nothing,
      ended: {
        why: "requested",
        durationMs: 4,
        messagesIn: 3,
        bytesIn: 3,
        messagesOut: 2,
        bytesOut: 14,
        peerCloseCode: 4001,
        closeCode: 4001
      },
      nextWakeAt: null
    })
  })

  it("defect: a silent peer never answering a close on request ends at the closing handshake's deadline", () => {
    const config = configOf("?close_code=4001&close_reason=bye")
    const socket = connect(config)
    expect(socket.opened).toMatchObject({ close: { code: 4001, reason: "bye" }, nextWakeAt: T0 + CLOSE_TIMEOUT_MS })
    expect(socket.tick(CLOSE_TIMEOUT_MS - 1)).toEqual({ ...nothing, nextWakeAt: T0 + CLOSE_TIMEOUT_MS })
    expect(socket.tick(CLOSE_TIMEOUT_MS)).toEqual({
      ...nothing,
      ended: {
        why: "handshake-timeout",
        durationMs: CLOSE_TIMEOUT_MS,
        messagesIn: 0,
        bytesIn: 0,
        messagesOut: 0,
        bytesOut: 0,
        peerCloseCode: null,
        closeCode: 4001
      },
      nextWakeAt: null
    })
    expect(socket.peerClose(4001, "bye", CLOSE_TIMEOUT_MS + 1).ended).toBeNull()
  })

  it("waits for the answer no longer than the idle timeout, when that is shorter", () => {
    const socket = connect(configOf("?close_code=4001", { idleTimeoutMs: 2_000 }))
    expect(socket.opened.nextWakeAt).toBe(T0 + 2_000)
    expect(socket.tick(2_000).ended).toEqual(ended("handshake-timeout", { closeCode: 4001 }))
  })

  it("a drop while waiting for the answer ends as a lost transport, with the close that was sent", () => {
    const socket = connect(configOf("?close_code=4001"))
    expect(socket.peerClose(1006, "", 5, false).ended).toEqual(
      ended("transport", { peerCloseCode: 1006, closeCode: 4001 })
    )
  })

  it("closes close_after_ms after the upgrade unless the echoes asked for came first", () => {
    const timed = connect(configOf("?close_after_ms=100&close_after=5"))
    expect(timed.opened.nextWakeAt).toBe(T0 + 100)
    expect(timed.receive("a", 99).send).toEqual(["echo: a"])
    expect(timed.tick(100)).toMatchObject({ send: [], close: { code: 1000, reason: "" } })
    const counted = connect(configOf("?close_after_ms=100&close_after=1&close_code=4002"))
    expect(
      wire(receive(counted.machine, configOf("?close_after_ms=100&close_after=1&close_code=4002"), "a", T0))
    ).toEqual(["echo: a", "close 4002 "])
    expect(counted.tick(100)).toEqual({ ...nothing, nextWakeAt: T0 + CLOSE_TIMEOUT_MS })
  })

  it("a late wake sends the pushes that were due before or at the timed close, then the close, and no later push", () => {
    const config = configOf("?push=p&push_every_ms=100&push_count=5&close_after_ms=200")
    const { machine } = connect(config)
    expect(wire(tick(machine, config, T0 + 1_000))).toEqual(["p", "p", "close 1000 "])
  })

  it("with delay_ms, an echo counts when it is sent, and echoes still pending at the close are dropped", () => {
    const config = configOf("?delay_ms=100&close_after=1&close_code=4003")
    const socket = connect(config)
    expect(socket.receive("a", 0)).toEqual({ ...nothing, nextWakeAt: T0 + 100 })
    expect(socket.receive("b", 10)).toEqual({ ...nothing, nextWakeAt: T0 + 100 })
    expect(wire(tick(socket.machine, config, T0 + 500))).toEqual(["echo: a", "close 4003 "])
    expect(socket.machine.delayed).toEqual([])
  })
})

describe("ConnectionMachine: delay_ms and push", () => {
  it("sends each echo delay_ms after its own message, in order", () => {
    const config = configOf("?delay_ms=100")
    const socket = connect(config)
    expect(socket.receive("a", 0).nextWakeAt).toBe(T0 + 100)
    expect(socket.receive("b", 30).nextWakeAt).toBe(T0 + 100)
    expect(socket.tick(100)).toMatchObject({ send: ["echo: a"], nextWakeAt: T0 + 130 })
    expect(socket.tick(129).send).toEqual([])
    expect(socket.tick(130)).toMatchObject({ send: ["echo: b"], nextWakeAt: null })
  })

  it("pushes its text at N, 2N, … K·N ms after the upgrade, whatever the client sends, then stops", () => {
    const socket = connect(configOf("?push=tick&push_every_ms=100&push_count=3"))
    expect(socket.opened.nextWakeAt).toBe(T0 + 100)
    expect(socket.receive("a", 50).send).toEqual(["echo: a"])
    expect(socket.tick(100)).toMatchObject({ send: ["tick"], nextWakeAt: T0 + 200 })
    expect(socket.tick(250)).toMatchObject({ send: ["tick"], nextWakeAt: T0 + 300 })
    expect(socket.tick(300)).toMatchObject({ send: ["tick"], nextWakeAt: null })
    expect(socket.tick(10_000).send).toEqual([])
  })

  it("sends no push after its close frame", () => {
    const socket = connect(configOf("?push=tick&push_every_ms=100&push_count=3&close_after=1"))
    expect(
      wire(receive(socket.machine, configOf("?push=tick&push_every_ms=100&push_count=3&close_after=1"), "a", T0 + 50))
    ).toEqual(["echo: a", "close 1000 "])
    expect(socket.tick(1_000).send).toEqual([])
  })
})

describe("ConnectionMachine: stall", () => {
  it("sends nothing, leaves the peer's close unanswered until the idle timeout, then answers 1001", () => {
    const config = configOf("?stall=true", { idleTimeoutMs: 1_000 })
    const socket = connect(config)
    expect(socket.receive("a", 100)).toEqual({ ...nothing, nextWakeAt: T0 + 1_100 })
    expect(socket.peerClose(1000, "bye", 200)).toEqual({ ...nothing, nextWakeAt: T0 + 1_100 })
    expect(socket.machine.state.phase).toBe("answering")
    expect(socket.tick(1_099)).toEqual({ ...nothing, nextWakeAt: T0 + 1_100 })
    expect(socket.tick(1_100)).toMatchObject({
      send: [],
      close: { code: 1001, reason: "idle timeout" },
      ended: ended("idle", { peerCloseCode: 1000, closeCode: 1001, messagesIn: 1, messagesOut: 0 })
    })
  })

  it("ends at once on a drop, and waits the closing bound when the idle timeout is off", () => {
    expect(connect(configOf("?stall=true", { idleTimeoutMs: 1_000 })).peerClose(1006, "", 5).ended).toEqual(
      ended("transport")
    )
    // parseScenario refuses stall=true with the idle timeout off; the machine still ends such a socket.
    const config = { ...configOf("?stall=true", { idleTimeoutMs: 1_000 }), idleTimeoutMs: 0 }
    const socket = connect(config)
    expect(socket.peerClose(1000, "", 5).nextWakeAt).toBe(T0 + 5 + CLOSE_TIMEOUT_MS)
    expect(socket.tick(5 + CLOSE_TIMEOUT_MS).close).toEqual({ code: 1001, reason: "idle timeout" })
  })

  it("ends with 1001 at the idle timeout when the peer stays open", () => {
    const socket = connect(configOf("?stall=true", { idleTimeoutMs: 1_000 }))
    expect(socket.tick(1_000)).toMatchObject({ close: { code: 1001 }, ended: ended("idle", { peerCloseCode: null }) })
  })
})

describe("ConnectionMachine: broadcast", () => {
  it("relays each admitted message, prefixed, to the room, and echoes it to its sender", () => {
    const socket = connect(configOf("?room=lobby&broadcast=true"))
    expect(socket.receive("hi", 1)).toMatchObject({ send: ["echo: hi"], relay: "echo: hi" })
    expect(socket.machine.state.traffic).toMatchObject({ messagesIn: 1, messagesOut: 1 })
  })

  it("a message from the room is this socket's echo: it follows its delay and counts towards close_after", () => {
    const config = configOf("?room=lobby&broadcast=true&delay_ms=100&close_after=2&close_code=4005")
    const socket = connect(config)
    expect(socket.deliver("echo: x", 0)).toEqual({ ...nothing, nextWakeAt: T0 + 100 })
    expect(socket.machine.state.traffic.messagesIn).toBe(0)
    expect(socket.receive("y", 10)).toMatchObject({ send: [], relay: "echo: y", nextWakeAt: T0 + 100 })
    expect(wire(tick(socket.machine, config, T0 + 110))).toEqual(["echo: x", "echo: y", "close 4005 "])
  })

  it("a stalled socket receives nothing from the room, though its own messages still go to the room", () => {
    const socket = connect(configOf("?room=lobby&broadcast=true&stall=true", { idleTimeoutMs: 1_000 }))
    expect(socket.deliver("echo: x", 0).send).toEqual([])
    expect(socket.receive("y", 1)).toMatchObject({ send: [], relay: "echo: y" })
  })

  it("relays nothing once its close frame is sent", () => {
    const socket = connect(configOf("?room=lobby&broadcast=true&close_after=0"))
    expect(socket.receive("late", 1)).toEqual({ ...nothing, nextWakeAt: T0 + CLOSE_TIMEOUT_MS })
  })
})

describe("ConnectionMachine: the driver stops or fails", () => {
  it("stops with 1001 going away, and fails with 1011 internal error", () => {
    const config = configOf()
    expect(seen(stop(open(config, T0), config, T0 + 1))).toMatchObject({
      close: { code: 1001, reason: "going away" },
      ended: ended("stopped", { closeCode: 1001 })
    })
    expect(seen(fail(open(config, T0), config, T0 + 1))).toMatchObject({
      close: { code: 1011, reason: "internal error" },
      ended: ended("internal", { closeCode: 1011 })
    })
  })

  it("sends no second close frame when one was sent already, and does nothing once ended", () => {
    const config = configOf("?close_code=4001")
    const machine = open(config, T0)
    expect(seen(stop(machine, config, T0 + 1))).toMatchObject({
      close: null,
      ended: ended("stopped", { closeCode: 4001 })
    })
    expect(seen(fail(machine, config, T0 + 2))).toEqual({ ...nothing, nextWakeAt: null })
  })
})

describe("ConnectionMachine: step and state", () => {
  it("step takes every input as a value", () => {
    const config = configOf("?room=r&broadcast=true", { idleTimeoutMs: 1_000 })
    const machine = open(config, T0)
    expect(wire(step(machine, config, { _tag: "Message", message: "a" }, T0 + 1))).toEqual(["echo: a"])
    expect(wire(step(machine, config, { _tag: "Deliver", message: "echo: b" }, T0 + 2))).toEqual(["echo: b"])
    expect(step(machine, config, { _tag: "Activity", at: T0 + 500 }, T0 + 600).nextWakeAt).toBe(T0 + 1_500)
    expect(step(machine, config, { _tag: "Tick" }, T0 + 700).send).toEqual([])
    expect(wire(step(machine, config, { _tag: "PeerClose", code: 1000, reason: "" }, T0 + 800))).toEqual([
      "close 1000 "
    ])
    for (const input of [{ _tag: "TransportLost" }, { _tag: "Stop" }, { _tag: "Fail" }] as const) {
      expect(step(machine, config, input, T0 + 900).ended).toBeNull()
    }
    expect(step(open(config, T0), config, { _tag: "TransportLost" }, T0 + 1).ended).toEqual(ended("transport"))
    expect(step(open(config, T0), config, { _tag: "Stop" }, T0 + 1).ended).toEqual(ended("stopped"))
    expect(step(open(config, T0), config, { _tag: "Fail" }, T0 + 1).ended).toEqual(ended("internal"))
  })

  it("state is plain data: a JSON copy resumes exactly where the original goes, rate limit and counters included", () => {
    const config = configOf("?push=p&push_every_ms=100&push_count=3&close_after=3", {
      maxMessagesPerSecond: 2,
      idleTimeoutMs: 1_000
    })
    const original = open(config, T0)
    let copy = resume(JSON.parse(JSON.stringify(original.state)))
    const inputs: Array<[number, (machine: ConnectionMachine) => Output]> = [
      [10, (m) => receive(m, config, "a", T0 + 10)],
      [100, (m) => tick(m, config, T0 + 100)],
      [150, (m) => receive(m, config, "b", T0 + 150)],
      [160, (m) => receive(m, config, "c", T0 + 160)],
      [170, (m) => receive(m, config, "d", T0 + 170)]
    ]
    for (const [, input] of inputs) {
      expect(seen(input(copy))).toEqual(seen(input(original)))
      copy = resume(JSON.parse(JSON.stringify(copy.state)))
    }
    expect(copy.state).toEqual(original.state)
  })

  it("reuses one output object, so a driver carries each step out before the next", () => {
    const config = configOf()
    const machine = open(config, T0)
    expect(receive(machine, config, "a", T0)).toBe(receive(machine, config, "b", T0))
  })
})

describe("ConnectionMachine: what a Durable Object keeps fits its attachment", () => {
  it("defect: the worst case (every field at its longest, every behaviour named) is under 16 KiB", async () => {
    const worst = worstCaseAttachment()
    expect(worst.protocol).toHaveLength(MAX_SUBPROTOCOL_BYTES)
    expect(byteLength(worst.config.prefix ?? "")).toBe(MAX_PREFIX_BYTES)
    expect(byteLength(worst.config.push?.text ?? "")).toBe(MAX_SCENARIO_TEXT_BYTES)
    expect(byteLength(worst.state.answer?.reason ?? "")).toBe(MAX_CLOSE_REASON_BYTES)
    expect(worst.behaviours).toEqual(behaviourParameters)
    const json = new TextEncoder().encode(JSON.stringify(worst)).length
    // The runtime's limit is on V8's serialisation (serializeAttachment), which Node's `v8.serialize` writes too.
    const v8: { serialize: (value: unknown) => Uint8Array } = await import(nodeV8)
    const serialised = v8.serialize(worst).length
    expect(json).toBeLessThan(MAX_ATTACHMENT_BYTES)
    expect(serialised).toBeLessThan(MAX_ATTACHMENT_BYTES)
  })

  it("a real state at its worst is the same shape as the worst case", () => {
    const config = configOf("?delay_ms=10&close_code=4001&close_after=3&push=p", {
      maxMessagesPerSecond: 10,
      idleTimeoutMs: 1_000
    })
    const socket = connect(config)
    socket.receive("a", 1)
    socket.peerClose(4001, "r", 2)
    const keys = (value: object): Array<string> =>
      Object.entries(value).flatMap(([key, inner]) =>
        inner !== null && typeof inner === "object" ? [key, ...keys(inner).map((k) => `${key}.${k}`)] : [key]
      )
    expect(keys(socket.machine.state).sort()).toEqual(keys(worstCaseAttachment().state).sort())
    expect(keys(config).sort()).toEqual(keys(worstCaseAttachment().config).sort())
  })
})

/** The module name is a value, so that the type checker (Workers types, no Node types) does not look it up. */
const nodeV8: string = "node:v8"

describe("ConnectionMachine: a connection whose application answers (prefix null)", () => {
  const appConfig = (idleTimeoutMs = 0) =>
    connectionConfig({ prefix: null, limits: { maxMessageBytes: 16, maxMessagesPerSecond: 0 }, idleTimeoutMs })

  it("hands each admitted message to the application and echoes nothing", () => {
    const config = appConfig()
    const machine = open(config, T0)
    const out = receive(machine, config, "hi", T0)
    expect(out.received).toBe("hi")
    expect(out.send).toEqual([])
  })

  it("a message over the limit: refused at once, its 1009 after the application's last replies (or the close timeout)", () => {
    const config = appConfig()
    const machine = open(config, T0)
    receive(machine, config, "hi", T0)
    const over = receive(machine, config, "x".repeat(17), T0 + 1)
    expect(over.received).toBeNull()
    expect(over.exceeded?._tag).toBe("MessageTooLarge")
    expect(over.close).toBeNull()
    expect(receive(machine, config, "more", T0 + 2).received).toBeNull()
    expect(wire(reply(machine, config, "echo: hi", T0 + 3))).toEqual(["echo: hi"])
    const out = drained(machine, config, T0 + 4)
    expect(wire(out)).toEqual(["close 1009 message too big"])
    expect(out.ended).toMatchObject({ why: "too-big", messagesIn: 2, messagesOut: 1, closeCode: 1009 })
    const late = open(config, T0)
    expect(receive(late, config, "x".repeat(17), T0).nextWakeAt).toBe(T0 + CLOSE_TIMEOUT_MS)
    expect(wire(tick(late, config, T0 + CLOSE_TIMEOUT_MS))).toEqual(["close 1009 message too big"])
  })

  it("the stream's echo (reply): delayed, counted for close_after, and the peer's close answered after it", () => {
    const scenario = parseScenario("http://echo.test/echo?delay_ms=100&close_after=2", {
      testBehaviours: true,
      maxMessageBytes: 16,
      idleTimeoutSeconds: 0
    })
    if (!isScenario(scenario)) throw new Error("not a scenario")
    const config = connectionConfig(
      { prefix: null, limits: { maxMessageBytes: 16, maxMessagesPerSecond: 0 }, idleTimeoutMs: 0 },
      scenario
    )
    const machine = open(config, T0)
    expect(wire(reply(machine, config, "echo: a", T0))).toEqual([])
    expect(peerClose(machine, config, { code: 1000, reason: "", wasClean: true }, T0 + 10).close).toBeNull()
    // Delivered before the close, echoed while the application drains.
    reply(machine, config, "echo: b", T0 + 20)
    expect(drained(machine, config, T0 + 30).nextWakeAt).toBe(T0 + 100)
    expect(wire(tick(machine, config, T0 + 100))).toEqual(["echo: a"])
    const out = tick(machine, config, T0 + 120)
    expect(wire(out)).toEqual(["echo: b", "close 1000 "])
    expect(out.ended?.why).toBe("peer-close")
  })

  it("sends what the application sends, counted, and nothing after the server's close", () => {
    const config = appConfig()
    const machine = open(config, T0)
    expect(wire(send(machine, config, "one", T0))).toEqual(["one"])
    expect(wire(requestClose(machine, config, { code: 4000, reason: "done" }, T0 + 1))).toEqual(["close 4000 done"])
    expect(wire(send(machine, config, "late", T0 + 2))).toEqual([])
    expect(requestClose(machine, config, { code: 4001, reason: "again" }, T0 + 3).close).toBeNull()
    const end = peerClose(machine, config, { code: 4000, reason: "done", wasClean: true }, T0 + 4).ended
    expect(end).toMatchObject({ why: "requested", messagesOut: 1, closeCode: 4000, peerCloseCode: 4000 })
  })

  it("answers the peer's close once the application has drained, and its last replies go first", () => {
    const config = appConfig()
    const machine = open(config, T0)
    const closed = peerClose(machine, config, { code: 4002, reason: "bye", wasClean: true }, T0)
    expect(closed.close).toBeNull()
    expect(closed.nextWakeAt).toBe(T0 + CLOSE_TIMEOUT_MS)
    expect(wire(send(machine, config, "reply", T0 + 1))).toEqual(["reply"])
    const out = drained(machine, config, T0 + 2)
    expect(wire(out)).toEqual(["close 4002 bye"])
    expect(out.ended?.why).toBe("peer-close")
  })

  it("answers the peer's close at the close timeout (the idle timeout when shorter) if the application never drains", () => {
    const config = appConfig(3_000)
    const machine = open(config, T0)
    expect(peerClose(machine, config, { code: 1000, reason: "", wasClean: true }, T0).nextWakeAt).toBe(T0 + 3_000)
    const out = tick(machine, config, T0 + 3_000)
    expect(wire(out)).toEqual(["close 1000 "])
    expect(out.ended?.why).toBe("peer-close")
  })

  it("the log line's fields: how it ended, the traffic and both codes, null for a close never sent", () => {
    const config = appConfig()
    const machine = open(config, T0)
    receive(machine, config, "hi", T0)
    const end = transportLost(machine, config, T0 + 5).ended
    if (end === null) throw new Error("not ended")
    expect(logFields(end, "id", undefined, { wakes: 1 })).toEqual({
      connection: "id",
      protocol: null,
      ending: "transport",
      durationMs: 5,
      messagesIn: 1,
      bytesIn: 2,
      messagesOut: 0,
      bytesOut: 0,
      peerCloseCode: 1006,
      closeCode: null,
      wakes: 1
    })
  })
})

describe("ConnectionMachine: what an output keeps", () => {
  it("lets go of the messages a driver has carried out, so an idle socket keeps no echo alive", () => {
    const config = configOf()
    const machine = open(config, T0)
    const out = receive(machine, config, "x".repeat(16), T0)
    expect(out.send).toHaveLength(1)
    carried(out)
    expect(out.send).toEqual([])
    expect(receive(machine, config, "y", T0 + 1).send).toEqual(["echo: y"])
  })
})
