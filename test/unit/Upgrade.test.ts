import { assert, describe, it } from "@effect/vitest"
import { isWebSocketUpgrade } from "../../src/domain/Upgrade.js"

describe("isWebSocketUpgrade", () => {
  it("accepts the websocket token in any case, alone or in a list", () => {
    for (const header of ["websocket", "WebSocket", "WEBSOCKET", "h2c, websocket", " websocket ,foo"]) {
      assert.isTrue(isWebSocketUpgrade(header), header)
    }
  })

  it("refuses a missing header and other protocols", () => {
    for (const header of [undefined, "", "h2c", "websockets", "web socket", "websocket/13x"]) {
      assert.isFalse(isWebSocketUpgrade(header), String(header))
    }
  })
})
