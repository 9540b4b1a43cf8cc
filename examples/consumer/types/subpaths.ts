// Every public module of websocket-echo, each imported by its subpath (package.json's `exports`), with a name
// from each used as an app would use it. `tsc --noEmit` checks it; test/surface.test.ts runs it in workerd.
import * as Package from "websocket-echo"
import { MessageTooLarge, toSocket, WebSocketService } from "websocket-echo/Connection"
import { connectionConfig, open, receive } from "websocket-echo/ConnectionMachine"
import { EchoRoom, EchoRooms } from "websocket-echo/EchoRooms"
import { EchoRpcs, EchoRpcsLive, EmptyText } from "websocket-echo/EchoRpcs"
import {
  EchoConfig,
  EchoRouter,
  type EchoSettings,
  echoResponse,
  handlerEcho,
  prefixMessage,
  route,
  streamEcho
} from "websocket-echo/EchoServer"
import { type HttpError, NotWebSocket, RoomsUnavailable } from "websocket-echo/HttpError"
import {
  ExecutionContext,
  type FetchHandlerOptions,
  serveHttpApp,
  toFetchHandler,
  UpgradeRefused,
  upgradeDefaults,
  WorkerEnv
} from "websocket-echo/Workers"

/** The connection machine, stepped with no runtime: one message in, its echo out. */
const config = connectionConfig({
  prefix: "> ",
  limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
  idleTimeoutMs: 0
})
export const machineEcho = receive(open(config, 0), config, "hi", 1).send

/** The echo's settings, from its defaults. */
export const settings: EchoSettings = { ...EchoConfig.defaults, prefix: "> " }

/** An error of the package, as the union every one of them belongs to. */
export const refusal: HttpError = new NotWebSocket()

/** The adapter's options, from its defaults. */
export const options: FetchHandlerOptions = { ...upgradeDefaults, log: true }

/** The barrel's namespaces are the modules themselves. */
export const sameAdapter: typeof toFetchHandler = Package.Workers.toFetchHandler

/** One name or more of each module, by the subpath it was imported from. */
export const surface = {
  "websocket-echo": Package,
  "websocket-echo/Workers": {
    toFetchHandler,
    serveHttpApp,
    upgradeDefaults,
    UpgradeRefused,
    ExecutionContext,
    WorkerEnv
  },
  "websocket-echo/EchoServer": { EchoRouter, echoResponse, route, streamEcho, handlerEcho, EchoConfig, prefixMessage },
  "websocket-echo/EchoRooms": { EchoRoom, EchoRooms },
  "websocket-echo/Connection": { WebSocketService, toSocket, MessageTooLarge },
  "websocket-echo/ConnectionMachine": { connectionConfig, open, receive },
  "websocket-echo/EchoRpcs": { EchoRpcs, EchoRpcsLive, EmptyText },
  "websocket-echo/HttpError": { NotWebSocket, RoomsUnavailable }
}
