import { defineConfig } from "vitest/config"

// The product from the outside: `wrangler dev` started once for the run, real clients against it.
export default defineConfig({
  test: {
    name: "e2e",
    include: ["test/e2e/**/*.test.ts"],
    environment: "node",
    globalSetup: ["test/e2e/globalSetup.ts"],
    // One client at a time: the suite shares one server and a 2-core machine, and a failure names one client.
    fileParallelism: false,
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
