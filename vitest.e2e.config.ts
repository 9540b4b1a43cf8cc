import { defineConfig, type TestProjectInlineConfiguration } from "vitest/config"
import { perMode } from "./test/support/modes.js"

const project = {
  environment: "node",
  globalSetup: ["test/e2e/globalSetup.ts"],
  testTimeout: 30_000,
  hookTimeout: 60_000
} satisfies TestProjectInlineConfiguration["test"]

// The product from the outside: `wrangler dev` started once per mode, real clients against it; and the Socket
// echo fixture (test/fixtures/socket-echo), written with @effect/platform's own API, against clients nobody here wrote.
export default defineConfig({
  test: {
    reporters: ["default", "./test/support/watchdog.ts"],
    projects: [
      ...perMode({
        test: { ...project, name: "e2e", include: ["test/e2e/**/*.test.ts"], exclude: ["test/e2e/socket/**"] }
      }),
      {
        test: {
          ...project,
          name: "e2e (socket)",
          // Python's client is the same test as for the Worker: the echo it checks is the same.
          include: ["test/e2e/socket/**/*.test.ts", "test/e2e/python.test.ts"],
          provide: { fixture: "socket-echo" }
        }
      }
    ],
    // One test file at a time across every project: the suites share a 2-core machine, and a failure names one client.
    fileParallelism: false
  }
})
