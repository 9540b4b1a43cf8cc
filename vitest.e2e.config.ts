import { defineConfig } from "vitest/config"
import { perMode } from "./test/support/modes.js"

// The product from the outside: `wrangler dev` started once per mode, real clients against it.
export default defineConfig({
  test: {
    projects: perMode({
      test: {
        name: "e2e",
        include: ["test/e2e/**/*.test.ts"],
        environment: "node",
        globalSetup: ["test/e2e/globalSetup.ts"],
        testTimeout: 30_000,
        hookTimeout: 60_000
      }
    }),
    // One test file at a time across every mode: the suites share a 2-core machine, and a failure names one client.
    fileParallelism: false
  }
})
