import { defineConfig } from "vitest/config"
import { perMode } from "./test/support/modes.js"

// The survival soak: one long test per mode against `wrangler dev` and workerd on loopback.
// SOAK_PROFILE=short is CI's variant.
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/watchdog.ts"],
    projects: perMode({
      test: { name: "soak", environment: "node", include: ["test/soak/**/*.test.ts"], hookTimeout: 120_000 }
    }),
    fileParallelism: false
  }
})
