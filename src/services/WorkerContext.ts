import * as Context from "effect/Context"

/** The runtime's own `ExecutionContext` type, named so that the tag below may take its name. */
type WorkersExecutionContext = globalThis.ExecutionContext

/**
 * The `ctx` of the Worker's `fetch`, as a service: what keeps a request alive after its response
 * (`waitUntil`). The Worker's entry and `toFetchHandler` provide it to every request, so a socket served after
 * its 101 keeps its request until the socket has ended; without it the runtime may end the request first and
 * drop the socket, which its peer sees as 1006.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { ExecutionContext } from "websocket-echo/Workers"
 *
 * export const later = (work: Promise<unknown>) => Effect.map(ExecutionContext, (ctx) => ctx.waitUntil(work))
 * ```
 *
 * @since 2.0.0
 */
export class ExecutionContext extends Context.Tag("websocket-echo/Workers/ExecutionContext")<
  ExecutionContext,
  Pick<WorkersExecutionContext, "waitUntil" | "passThroughOnException">
>() {}

/**
 * The Worker's `env` (its bindings and vars), as a service: provided to every request by the Worker's entry
 * and `toFetchHandler`, and to `toFetchHandler`'s layer when it is built. Typed as `Cloudflare.Env`, which
 * `wrangler types` fills in for the project, as it types `env` of `cloudflare:workers`.
 *
 * @example
 * ```ts
 * import * as Effect from "effect/Effect"
 * import { WorkerEnv } from "websocket-echo/Workers"
 *
 * export const bindings = Effect.map(WorkerEnv, (env) => Object.keys(env))
 * ```
 *
 * @since 2.0.0
 */
export class WorkerEnv extends Context.Tag("websocket-echo/Workers/WorkerEnv")<WorkerEnv, Cloudflare.Env>() {}
