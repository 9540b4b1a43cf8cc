import { describe, expect, it } from "vitest"
import { machineEcho, options, refusal, sameAdapter, settings, surface } from "../types/subpaths.js"

describe("the package's modules, each imported by its subpath", () => {
  it("resolves every subpath in workerd, with each name an app imports from it", () => {
    for (const [subpath, names] of Object.entries(surface)) {
      for (const [name, value] of Object.entries(names)) {
        expect(["function", "object"], `${name} from ${subpath}`).toContain(typeof value)
      }
    }
    expect(Object.keys(surface["websocket-echo"]).sort()).toEqual([
      "Connection",
      "ConnectionMachine",
      "EchoRooms",
      "EchoRpcs",
      "EchoServer",
      "HttpError",
      "Workers"
    ])
    expect(sameAdapter).toBe(surface["websocket-echo/Workers"].toFetchHandler)
  })

  it("gives the documented defaults: an adapter with no policy, an echo with no behaviours", () => {
    expect(surface["websocket-echo/Workers"].upgradeDefaults).toEqual({
      maxMessageBytes: 33_554_432,
      maxMessagesPerSecond: 0,
      idleTimeoutSeconds: 0,
      protocols: [],
      allowedOrigins: [],
      requireOrigin: false
    })
    expect(options.log).toBe(true)
    expect(settings).toMatchObject({ prefix: "> ", testBehaviours: false, idleTimeoutSeconds: 600 })
    expect(machineEcho).toEqual(["> hi"])
    expect(refusal).toMatchObject({ status: 426, code: "NOT_WEBSOCKET" })
  })
})
