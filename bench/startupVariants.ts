// Bundles of our Worker that stop short of the first request's work, so that a cold start's time can be split
// into its phases: T3-load − T2 is loading and evaluating the modules, T3-built − T3-load the runtime's first
// build, T3 − T3-built the first request through the route. Each answers `GET /health` by hand and passes every
// other request to our Worker (and exports its Durable Object class), so it bundles exactly what ours bundles.

/** The variants, by bundle name: each the source of an entry module, given the absolute path of `src/runtime/`. */
export const STARTUP_VARIANTS = {
  /** Our modules loaded and evaluated; the runtime is not built for `/health`. */
  "effect-load": (runtime: string) => `import worker, { EchoRoom } from ${JSON.stringify(`${runtime}worker.ts`)}
export { EchoRoom }
const HEALTH = '{"status":"ok"}'
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname !== "/health") return worker.fetch(request, env, ctx)
    return new Response(HEALTH, { headers: { "content-type": "application/json", "cache-control": "no-store" } })
  }
}
`,
  /** Our modules loaded, and the isolate's runtime built at load (what finishes asynchronously, before `/health`). */
  "effect-built": (runtime: string) => `import worker, { EchoRoom } from ${JSON.stringify(`${runtime}worker.ts`)}
import { AppRuntime } from ${JSON.stringify(`${runtime}AppRuntime.ts`)}
export { EchoRoom }
const HEALTH = '{"status":"ok"}'
const built = AppRuntime.runtime()
export default {
  async fetch(request, env, ctx) {
    if (new URL(request.url).pathname !== "/health") return worker.fetch(request, env, ctx)
    await built
    return new Response(HEALTH, { headers: { "content-type": "application/json", "cache-control": "no-store" } })
  }
}
`
} as const

export type StartupVariant = keyof typeof STARTUP_VARIANTS
