import { describe, expect, it } from "vitest"
import { withoutNoise } from "../support/quietRuntime.js"

const retry = "Please retry the `DurableObjectStub#fetch()` call."
const changed = `Error: /repo/src/runtime/worker.ts changed, invalidating this Durable Object. ${retry}`
const bin = "/repo/node_modules/@cloudflare/workerd-linux-64/bin/workerd"

// As workerd printed it under vitest-pool-workers 0.12.21, when an object of an earlier test file got an event.
const refusal = [
  `workerd/io/worker.c++:2441: info: uncaught exception; source = Uncaught; stack = ${changed}`,
  "    at repo/node_modules/@cloudflare/vitest-pool-workers/dist/worker/lib/cloudflare/test-internal.mjs:542:15",
  `workerd/jsg/exception.c++:146: info: Annotating with brokenness; internalMessage = jsg.${changed}; brokennessReason = broken.inputGateBroken`,
  `workerd/io/io-context.c++:435: info: uncaught exception; exception = workerd/jsg/value.h:1480: failed: broken.inputGateBroken; jsg.${changed}`,
  `stack: ${bin}@3356bd7 ${bin}@2b39ce2`
].map((line) => `${line}\n`)

const fresh = () => ({ dropping: false })

describe("the test run's output filter", () => {
  it("drops the pool's refusal of an earlier file's Durable Object, stack lines included", () => {
    expect(withoutNoise(refusal.join(""), fresh())).toBe("")
  })

  it("drops it when each line comes in a write of its own", () => {
    const state = fresh()
    expect(refusal.map((line) => withoutNoise(line, state)).join("")).toBe("")
  })

  it("keeps what follows it, and stack lines that follow anything else", () => {
    const result = " ✓ |workerd (stream)| test/worker/echo.test.ts (18 tests) 2405ms\n"
    const ours = "Error: echo failed\n    at handler (src/runtime/Echo.ts:10:3)\n"
    expect(withoutNoise([...refusal, result, ours].join(""), fresh())).toBe(result + ours)
  })

  it("keeps other uncaught exceptions of the runtime", () => {
    const other = "workerd/io/worker.c++:2441: info: uncaught exception; source = Uncaught; stack = TypeError: boom\n"
    expect(withoutNoise(other, fresh())).toBe(other)
  })

  it("drops the pool's debug lines, the runtime's report of a closed pair's other end, and V8's code moves", () => {
    const lines = [
      "workerd/jsg/setup.c++:583: info: CODE_MOVED for unknown code block?\n",
      "[vpw:debug] Reusing runtime for vitest.config.ts...\n",
      "workerd/io/worker.c++:1000: info: exception = workerd/api/web-socket.c++:900: disconnected: WebSocket peer disconnected\n"
    ]
    expect(withoutNoise(lines.join(""), fresh())).toBe("")
  })
})
