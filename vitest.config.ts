import { fileURLToPath } from "node:url"
import { defineWorkersProject } from "@cloudflare/vitest-pool-workers/config"
import { defineConfig } from "vitest/config"
import { MODES } from "./test/support/modes.js"
import { quietRuntime } from "./test/support/quietRuntime.js"

quietRuntime()

export default defineConfig({
  test: {
    reporters: ["default", "./test/support/watchdog.ts"],
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
            // Three projects of real sockets share two cores: a test's own event waits stay at 10 s (socket.ts).
            testTimeout: 30_000,
            include: ["test/worker/**/*.test.ts"],
            // Transformed here, so that its `msgpackr` import takes the alias above and not the native build.
            server: { deps: { inline: [/@effect\/rpc/] } },
            poolOptions: {
              workers: {
                isolatedStorage: false,
                // The project's files one after another in one runtime. With a runtime per file, all of them
                // load every module through the pool's one Node process at once (≈ 30 × 200 module requests on
                // two cores): under load a request waited past the pool's 60 s RPC timeout and the run hung.
                singleWorker: true,
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
