/**
 * This package's name and version, as in package.json (test/worker/site.test.ts checks that they agree): the
 * built package cannot import its own package.json where no bundler runs (Node, vitest-pool-workers).
 */
export const name = "websocket-echo"
export const version = "2.0.0"
