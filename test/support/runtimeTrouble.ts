const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

/**
 * Lines of runtime output that mean a socket or a request went wrong, whatever the clients saw: a close the
 * Worker never answered, an exception, an error logged by our code, I/O from another request's context.
 */
const TROUBLE = /hung|Uncaught|ERROR|echo failed|unexpected defect|Cannot perform I\/O/

/**
 * Lines the runtime prints whatever the Worker does (measured), each the dev runtime's, not the echo's: the first
 * for a hand-written plain Worker too, each time a client closes a socket on which it never sent a message; the
 * second when a client drops its connection as soon as it has read a response's status (Chromium does, for a
 * WebSocket upgrade that was refused, such as `reject=503`), and the runtime fails to write the rest of the body
 * (a broken pipe, or a reset, as the peer's kernel answers).
 * Anything else that matches `TROUBLE` fails.
 */
const PLATFORM_NOISE = [
  /^✘ \[ERROR\] Uncaught Error: Network connection lost\.$/,
  /^✘ \[ERROR\] kj::getCaughtExceptionAsKj\(\) = kj\/async-io-unix\.c\+\+:\d+: disconnected: ::write\(fd, buffer\.begin\(\), buffer\.size\(\)\): (Broken pipe|Connection reset by peer)$/
]

/** The lines of a `wrangler dev`'s output that point at a problem in the Worker (every suite that starts one asks this). */
export const runtimeTrouble = (output: string): Array<string> =>
  output
    .replace(ANSI, "")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => TROUBLE.test(line) && !PLATFORM_NOISE.some((noise) => noise.test(line)))
