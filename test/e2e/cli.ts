import { execFile } from "node:child_process"

export interface Finished {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs a program to its end (or kills it after `timeoutMs`) and returns its exit code and output. */
export const run = (file: string, args: ReadonlyArray<string>, timeoutMs = 20_000): Promise<Finished> =>
  new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
      resolve({ code, stdout, stderr })
    })
  })
