import { describe, expect, it } from "vitest"
import {
  type ConnectionAttachment,
  connectionConfig,
  open,
  worstCaseAttachment
} from "../../src/domain/ConnectionMachine.js"
import { isScenario, parseScenario } from "../../src/domain/Scenario.js"
import { isConnectionAttachment } from "../../src/services/EchoRooms.js"

/** An attachment as a room writes it, for `/echo` with this query. */
const attachmentOf = (query: string): ConnectionAttachment => {
  const scenario = parseScenario(`http://echo.test/echo${query}`, {
    testBehaviours: true,
    maxMessageBytes: 1024,
    idleTimeoutSeconds: 600
  })
  if (!isScenario(scenario)) throw new Error(`not a scenario: ${query}`)
  const limits = { maxMessageBytes: 1024, maxMessagesPerSecond: 10 }
  const config = connectionConfig({ prefix: "echo: ", limits, idleTimeoutMs: 600_000 }, scenario)
  const machine = open(config, 1_000, { greeting: scenario.greeting })
  return { id: "id", protocol: "chat", wakes: 0, behaviours: scenario.behaviours, config, state: machine.state }
}

describe("isConnectionAttachment", () => {
  it("knows the attachments a room writes, as the runtime gives them back, and the worst case", () => {
    for (const query of [
      "",
      "?room=r",
      "?greeting=hi&close_code=4001&close_after=2&push=p&delay_ms=5",
      "?stall=true"
    ]) {
      const attachment = attachmentOf(query)
      expect(isConnectionAttachment(structuredClone(attachment)), query).toBe(true)
      // JSON drops the fields that are undefined (a close's absent `afterMs`): still ours.
      expect(isConnectionAttachment(JSON.parse(JSON.stringify(attachment))), query).toBe(true)
    }
    expect(isConnectionAttachment(worstCaseAttachment())).toBe(true)
  })

  it("refuses what a room cannot drive: nothing, another shape (an older version's), a broken state or config", () => {
    const older = {
      prefix: "echo: ",
      limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
      idleTimeoutMs: 600_000,
      protocol: "chat",
      id: "id",
      openedAt: 1_000,
      traffic: { messagesIn: 0, bytesIn: 0, messagesOut: 0, bytesOut: 0, lastActivity: 1_000, bucket: null },
      wakes: 0,
      ended: false,
      behaviour: null
    }
    const good = attachmentOf("?push=p")
    const broken: Array<unknown> = [
      null,
      undefined,
      "attachment",
      [good],
      older,
      { ...good, state: { ...good.state, phase: "closed" } },
      { ...good, state: { ...good.state, traffic: null } },
      { ...good, config: { ...good.config, limits: undefined } },
      { ...good, config: { ...good.config, push: { text: 1 } } },
      { ...good, behaviours: "push" },
      { ...good, protocol: undefined }
    ]
    for (const value of broken) expect(isConnectionAttachment(value), JSON.stringify(value)).toBe(false)
  })
})
