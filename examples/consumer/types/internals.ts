// biome-ignore-all assist/source/organizeImports: one import per name, each under the comment that says why it fails
// What the package does not export must not be importable: `tsc --noEmit` fails if any import below stops being
// an error. One name per import, each used, so that the only error a line can have is that import's own. Never run.

// @ts-expect-error: dist/ is not in package.json's `exports`, so its modules cannot be reached by path.
import { superviseExit } from "websocket-echo/dist/runtime/Echo.js"
// @ts-expect-error: nor can the entry modules, by their file in dist/.
import { Workers } from "websocket-echo/dist/index.js"
// @ts-expect-error: the source layout is no subpath either.
import { routeWith } from "websocket-echo/runtime/Route"
// @ts-expect-error: the barrel exports namespaces only, not the names inside them.
import { toFetchHandler } from "websocket-echo"
// @ts-expect-error: the package's own Worker route, with its settings given, stays inside.
import { routeWith as routeWithSettings } from "websocket-echo/EchoServer"
// @ts-expect-error: the echo's programs by pipeline are the Worker's table, not the echo's API.
import { echoPrograms } from "websocket-echo/EchoServer"
// @ts-expect-error: the handler echo without a fiber is what the Worker runs inside handlerEcho.
import { startHandlerEcho } from "websocket-echo/EchoServer"
// @ts-expect-error: the supervisor of a connection is shared by the echo and the adapter, and exported by neither.
import { superviseExit as supervise } from "websocket-echo/Connection"
// @ts-expect-error: serveHttpApp with its settings per request is the Worker's /rpc, not the adapter's API.
import { serveWith } from "websocket-echo/Workers"
// @ts-expect-error: the handshake's checks are internal to the adapter.
import { checkHandshake } from "websocket-echo/Workers"
// @ts-expect-error: the runtime's rule for the Upgrade header is the adapter's own.
import { isRuntimeUpgradable } from "websocket-echo/Workers"
// @ts-expect-error: the RPC route of the package's own Worker is not the RPC module's.
import { rpcResponse } from "websocket-echo/EchoRpcs"
// @ts-expect-error: the traffic counters are the machine's internals.
import { admit } from "websocket-echo/ConnectionMachine"
// @ts-expect-error: so is the counter of sent messages.
import { countSent } from "websocket-echo/ConnectionMachine"

export const internals = [
  superviseExit,
  Workers,
  routeWith,
  toFetchHandler,
  routeWithSettings,
  echoPrograms,
  startHandlerEcho,
  supervise,
  serveWith,
  checkHandshake,
  isRuntimeUpgradable,
  rpcResponse,
  admit,
  countSent
]
