import { defineConfig } from "vitest/config"
import { perMode } from "./test/support/modes.js"

// RFC 6455 conformance over raw TCP against the Worker under `wrangler dev`, once per mode (see globalSetup).
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/watchdog.ts"],
    projects: perMode({
      test: {
        name: "conformance",
        environment: "node",
        include: ["test/conformance/**/*.test.ts"],
        globalSetup: ["test/conformance/globalSetup.ts"],
        testTimeout: 30_000,
        hookTimeout: 90_000
      }
    }),
    // Timed cases (idle timeouts, rate limits) stay honest when one file runs at a time.
    fileParallelism: false
  }
})
