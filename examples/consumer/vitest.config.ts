import { fileURLToPath } from "node:url"
import { defineWorkersConfig } from "@cloudflare/vitest-pool-workers/config"

export default defineWorkersConfig({
  // @effect/rpc loads msgpackr, whose "node" build looks for a native addon (node:os) that workerd does not have:
  // take its portable build, as wrangler does when it bundles the Worker.
  resolve: {
    alias: [
      {
        find: /^msgpackr$/,
        replacement: fileURLToPath(import.meta.resolve("msgpackr")).replace(/node-index\.js$/, "index.js")
      }
    ]
  },
  test: {
    disableConsoleIntercept: true,
    poolOptions: { workers: { wrangler: { configPath: "./wrangler.toml" } } }
  }
})
