import { RUNTIME_NOISE } from "../../scripts/runtimeNoise.mjs"

const ANSI = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g")

/**
 * Lines of runtime output that mean a socket or a request went wrong, whatever the clients saw: a close the
 * Worker never answered, an exception, an error logged by our code, I/O from another request's context.
 */
const TROUBLE = /hung|Uncaught|ERROR|echo failed|unexpected defect|Cannot perform I\/O/

/** The lines of a `wrangler dev`'s output as plain text: colours removed, white space trimmed. */
export const runtimeLines = (output: string): Array<string> =>
  output
    .replace(ANSI, "")
    .split("\n")
    .map((line) => line.trim())

/**
 * The lines of a `wrangler dev`'s output that point at a problem in the Worker (every suite that starts one asks
 * this): those that match `TROUBLE` and are not the dev runtime's own (`RUNTIME_NOISE`).
 */
export const runtimeTrouble = (output: string): Array<string> =>
  runtimeLines(output).filter((line) => TROUBLE.test(line) && !RUNTIME_NOISE.some((noise) => noise.pattern.test(line)))
