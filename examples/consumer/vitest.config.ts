import { defineWorkersConfig } from "@cloudflare/vitest-pool-workers/config"

export default defineWorkersConfig({
  test: {
    disableConsoleIntercept: true,
    poolOptions: { workers: { wrangler: { configPath: "./wrangler.toml" } } }
  }
})
