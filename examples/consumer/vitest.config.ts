import { defineWorkersConfig } from "@cloudflare/vitest-pool-workers/config"

// workerd reports, at info level, each end of a WebSocketPair whose other end closed, however cleanly: two lines
// a socket, a few hundred a run, none about this Worker. Everything else it prints still shows.
const PEER_DISCONNECTED = /^workerd\/jsg\/util\.c\+\+:\d+: info: exception = .*: WebSocket peer disconnected\n?$/
for (const stream of [process.stdout, process.stderr]) {
  const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: Array<unknown>) => boolean
  stream.write = ((chunk: string | Uint8Array, ...rest: Array<unknown>) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8")
    const kept = text
      .split(/(?<=\n)/)
      .filter((line) => !PEER_DISCONNECTED.test(line))
      .join("")
    return kept === "" ? true : write(kept, ...rest)
  }) as typeof stream.write
}

export default defineWorkersConfig({
  test: {
    disableConsoleIntercept: true,
    // A test waits for each event for at most 10 s (test/support.ts); the load tests exchange 10,000 echoes.
    testTimeout: 30_000,
    poolOptions: {
      workers: {
        // The test files one after another in one runtime: a runtime per file loads every module once per file
        // (measured: 0.9 s of collection against 8.8 s), and runs the load tests beside the idle timeout's.
        singleWorker: true,
        wrangler: { configPath: "./wrangler.toml" }
      }
    }
  }
})
