/**
 * Lines that vitest-pool-workers prints for every run and every socket, none of them about our code: its own
 * debug and info lines, and workerd's info-level report that the other end of a `WebSocketPair` closed (two
 * per socket, however cleanly it closed). A green run shows only what the tests say; anything else still prints.
 */
const NOISE = [
  /^\[vpw:(debug|info)\] /,
  /info: exception = workerd\/api\/web-socket\.c\+\+:\d+: disconnected: WebSocket peer disconnected/
]

const quiet = (stream: NodeJS.WriteStream) => {
  const write = stream.write.bind(stream) as (chunk: string | Uint8Array, ...rest: Array<unknown>) => boolean
  stream.write = ((chunk: string | Uint8Array, ...rest: Array<unknown>) => {
    const text = typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8")
    const kept = text
      .split(/(?<=\n)/)
      .filter((line) => !NOISE.some((pattern) => pattern.test(line.trim())))
      .join("")
    return kept === "" ? true : write(kept, ...rest)
  }) as typeof stream.write
}

/** Drops those lines from this process's stdout and stderr. */
export const quietRuntime = () => {
  quiet(process.stdout)
  quiet(process.stderr)
}
