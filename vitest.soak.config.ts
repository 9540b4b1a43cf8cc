import { defineConfig } from "vitest/config"

// The survival soak: one long test against `wrangler dev` on loopback. SOAK_PROFILE=short is CI's variant.
export default defineConfig({
  test: {
    name: "soak",
    environment: "node",
    include: ["test/soak/**/*.test.ts"],
    hookTimeout: 120_000
  }
})
