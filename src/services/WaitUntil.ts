import * as Context from "effect/Context"

/**
 * Keeps the request that created a socket alive until a promise settles: `ctx.waitUntil` on Workers. A socket's
 * fiber answers its peer's close after the close event, and the runtime may end the request (and drop the
 * socket, which its peer sees as 1006) once nothing else is pending; so the Worker hands it the fiber's end.
 * Where nothing provides it (tests, other hosts), it does nothing.
 */
export class WaitUntil extends Context.Reference<WaitUntil>()("websocket-echo/WaitUntil", {
  defaultValue:
    () =>
    (_promise: Promise<unknown>): void =>
      undefined
}) {}
