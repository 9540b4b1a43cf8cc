/**
 * Polls `condition` (a count of log lines, a memory figure) every 100 ms until it holds or `timeoutMs` passes,
 * and says whether it held: for what a server writes a little after the client has seen the event.
 */
export const eventually = async (condition: () => boolean, timeoutMs: number): Promise<boolean> => {
  const deadline = Date.now() + timeoutMs
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  return condition()
}
