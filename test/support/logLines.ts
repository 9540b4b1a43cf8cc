/** A log line of the Worker, as Effect's JSON logger writes it. */
export interface LogLine {
  readonly message: string
  readonly logLevel: string
  readonly annotations: Record<string, unknown>
}

/** The Worker's JSON log lines in a server's output, parsed; with `message`, only the lines that say it. */
export const logLines = (output: string, message?: string): Array<LogLine> =>
  output
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as LogLine)
    .filter((line) => message === undefined || line.message === message)
