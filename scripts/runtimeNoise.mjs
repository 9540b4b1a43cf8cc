/**
 * Lines that `wrangler dev` prints whatever the Worker does (measured), each the dev runtime's own, not the echo's,
 * with what each means in plain words. `npm run dev` explains each the first time it appears; the suites that
 * read a dev server's output (test/support/runtimeTrouble.ts) let them through, and fail on anything else.
 *
 * @type {ReadonlyArray<{ readonly pattern: RegExp, readonly meaning: string }>}
 */
export const RUNTIME_NOISE = [
  {
    // For a hand-written plain Worker too.
    pattern: /^✘ \[ERROR\] Uncaught Error: Network connection lost\.$/,
    meaning:
      "the dev runtime's own line, not the Worker's: a client closed a socket on which it had sent no message. " +
      "The echo answered the close as usual."
  },
  {
    // Chromium drops the connection as soon as it has read a refused upgrade's status (`reject=503`).
    pattern:
      /^✘ \[ERROR\] kj::getCaughtExceptionAsKj\(\) = kj\/async-io-unix\.c\+\+:\d+: disconnected: ::write\(fd, buffer\.begin\(\), buffer\.size\(\)\): (Broken pipe|Connection reset by peer)$/,
    meaning:
      "the dev runtime's own line, not the Worker's: a client hung up after reading a response's status " +
      "(browsers do for a refused upgrade) and the runtime could not write the rest of the body."
  }
]
