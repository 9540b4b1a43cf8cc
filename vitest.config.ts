import { fileURLToPath } from "node:url"
import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config"
import { defineConfig } from "vitest/config"
import { MODES } from "./test/support/modes.js"
import { quietRuntime } from "./test/support/quietRuntime.js"

quietRuntime()

export default defineConfig({
  test: {
    projects: [
      // Our own logic, on Node: proves the test layer needs no Workers runtime.
      { test: { name: "unit", include: ["test/unit/**/*.test.ts"], environment: "node" } },
      // The documentation: links, line widths, and every code block parses or typechecks (test/docs).
      { test: { name: "docs", include: ["test/docs/**/*.test.ts"], environment: "node", testTimeout: 10_000 } },
      // The Worker itself, inside workerd, once per mode. Logs below warning stay out of a green run's output.
      ...Object.entries(MODES).map(([mode, vars]) =>
        defineWorkersProject({
          // msgpackr's "node" build loads a native addon; workerd takes its portable build, as wrangler bundles it.
          resolve: {
            alias: [
              {
                find: /^msgpackr$/,
                replacement: fileURLToPath(import.meta.resolve("msgpackr")).replace(/node-index\.js$/, "index.js")
              }
            ]
          },
          test: {
            name: `workerd (${mode})`,
            disableConsoleIntercept: true,
            // Three projects of real sockets share two cores: a test's own event waits stay at 5 s (socket.ts).
            testTimeout: 15_000,
            include: ["test/worker/**/*.test.ts"],
            poolOptions: {
              workers: {
                isolatedStorage: false,
                wrangler: { configPath: "./wrangler.toml" },
                miniflare: { bindings: { ...vars, LOG_LEVEL: "warning" } }
              }
            }
          }
        })
      )
    ]
  }
})
