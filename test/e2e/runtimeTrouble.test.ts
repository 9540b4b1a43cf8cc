import { describe, expect, it } from "vitest"
import { runtimeTrouble } from "../support/runtimeTrouble.js"

const red = (text: string) =>
  `\u001b[31m✘ \u001b[41;31m[\u001b[41;97mERROR\u001b[41;31m]\u001b[0m \u001b[1m${text}\u001b[0m`

describe("the scan of wrangler dev's output", () => {
  it("finds hung sockets, uncaught errors and I/O from another request's context", () => {
    const output = [
      "[wrangler:info] GET /echo 101 Switching Protocols (3ms)",
      '{"message":"connection ended","annotations":{"closeCode":1000}}',
      "workerd/server/server.c++: warning: The Workers runtime canceled this request because it detected that your Worker's code had hung",
      red("Uncaught TypeError: x is not a function"),
      "Error: Cannot perform I/O on behalf of a different request. I/O objects (such as streams) ...",
      red("Uncaught Error: Network connection lost."),
      ""
    ].join("\n")
    expect(runtimeTrouble(output)).toEqual([
      "workerd/server/server.c++: warning: The Workers runtime canceled this request because it detected that your Worker's code had hung",
      "✘ [ERROR] Uncaught TypeError: x is not a function",
      "Error: Cannot perform I/O on behalf of a different request. I/O objects (such as streams) ..."
    ])
  })

  it("lets through only the dev runtime's own line for a socket closed before any message", () => {
    expect(runtimeTrouble(red("Uncaught Error: Network connection lost."))).toEqual([])
    expect(runtimeTrouble(red("Uncaught Error: Network connection lost. in echo.ts"))).toHaveLength(1)
  })

  it("lets through the runtime's failed write to a client that dropped its connection after a refusal", () => {
    const write =
      "kj::getCaughtExceptionAsKj() = kj/async-io-unix.c++:186: disconnected: ::write(fd, buffer.begin(), buffer.size())"
    expect(runtimeTrouble(red(`${write}: Broken pipe`))).toEqual([])
    expect(runtimeTrouble(red(`${write}: Connection reset by peer`))).toEqual([])
    expect(runtimeTrouble(red(`${write}: Broken pipe in echo.ts`))).toHaveLength(1)
  })
})
