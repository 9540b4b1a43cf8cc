import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config"
import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    projects: [
      // Our own logic, on Node: proves the test layer needs no Workers runtime.
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" } },
      // The Worker itself, inside workerd.
      defineWorkersProject({
        test: {
          name: "workerd",
          disableConsoleIntercept: true,
          include: ["test/worker/**/*.test.ts"],
          poolOptions: { workers: { isolatedStorage: false, wrangler: { configPath: "./wrangler.toml" } } }
        }
      })
    ]
  }
})
