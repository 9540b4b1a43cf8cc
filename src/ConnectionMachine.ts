/**
 * Every rule of one WebSocket connection, as a pure machine that the echo's three shapes drive: admission
 * (size and rate), the idle timeout, the closing handshake and its deadline, the behaviours, and the fields
 * of the connection's log line. Inputs go in with `now`; what to send, what to close with and when to wake
 * come out. No I/O, no timers, no clock.
 *
 * @example
 * ```ts
 * import { connectionConfig, open, receive } from "websocket-echo/ConnectionMachine"
 *
 * const config = connectionConfig({
 *   prefix: "echo: ",
 *   limits: { maxMessageBytes: 1024, maxMessagesPerSecond: 0 },
 *   idleTimeoutMs: 0
 * })
 * const machine = open(config, 0)
 * export const echoed = [...receive(machine, config, "hi", 1).send] // ["echo: hi"]
 * ```
 *
 * @since 2.0.0
 * @module websocket-echo/ConnectionMachine
 */
export * from "./domain/ConnectionMachine.js"
