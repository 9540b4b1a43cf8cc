import { defineConfig } from "vitest/config"

// RFC 6455 conformance over raw TCP against the Worker under `wrangler dev` (started once, see globalSetup).
export default defineConfig({
  test: {
    name: "conformance",
    environment: "node",
    include: ["test/conformance/**/*.test.ts"],
    globalSetup: ["test/conformance/globalSetup.ts"],
    testTimeout: 30_000,
    hookTimeout: 90_000
  }
})
