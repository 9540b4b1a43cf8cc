/**
 * Lines that vitest-pool-workers prints for every run and every socket, none of them about our code: its own
 * debug and info lines; workerd's info-level report that the other end of a `WebSocketPair` closed (two per
 * socket, however cleanly it closed); and workerd's info-level note, from the handler of V8's code events that it
 * keeps for stack traces, that V8 moved compiled code it had not been told of (seen a few times a run once a
 * runtime lives through many test files). A green run shows only what the tests say; anything else still prints.
 */
const NOISE = [
  /^\[vpw:(debug|info)\] /,
  /info: exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected/,
  /^workerd\/jsg\/setup\.c\+\+:\d+: info: CODE_MOVED for unknown code block\?$/
]

/**
 * The pool's refusal of an event for a Durable Object that an earlier test file created. A project runs its files
 * one after another in one runtime (`singleWorker`), and the pool imports the Worker afresh for each file; an
 * object of an earlier file that wakes later (an alarm its test left, the runtime's close of its socket) is refused
 * by the pool with "…changed, invalidating this Durable Object" and reset. No test reaches an earlier file's object:
 * each file names its rooms (test/worker/*.test.ts), the others are unique ids. The refusal is printed as
 * workerd's three info lines, each followed by a stack line, all dropped together.
 */
const REFUSED_OBJECT = /changed, invalidating this Durable Object\. Please retry the `DurableObjectStub#fetch\(\)` call/
const STACK = /^(at |stack: )/

/**
 * Returns the part of `text` that is not noise. `state.dropping` carries, from one write to the next, that the last
 * line was a dropped refusal, so that its stack line is dropped too.
 */
export const withoutNoise = (text: string, state: { dropping: boolean }): string =>
  text
    .split(/(?<=\n)/)
    .filter((line) => {
      const trimmed = line.trim()
      if (state.dropping && STACK.test(trimmed)) return false
      state.dropping = REFUSED_OBJECT.test(trimmed)
      return !state.dropping && !NOISE.some((pattern) => pattern.test(trimmed))
    })
    .join("")

const quiet = (stream: NodeJS.WriteStream) => {
  const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: Array<unknown>) => boolean
  const state = { dropping: false }
  stream.write = ((chunk: string | Uint8Array, ...rest: Array<unknown>) => {
    const kept = withoutNoise(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"), state)
    return kept === "" ? true : write(kept, ...rest)
  }) as typeof stream.write
}

/** Drops those lines from this process's stdout and stderr. */
export const quietRuntime = () => {
  quiet(process.stdout)
  quiet(process.stderr)
}
