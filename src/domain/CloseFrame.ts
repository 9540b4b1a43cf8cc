import { byteLength } from "./Message.js"

/**
 * The code and reason of a WebSocket close frame.
 *
 * @example
 * ```ts
 * import type { CloseFrame, Connection } from "websocket-echo/Connection"
 *
 * // A code of the app's own (4000–4999), with a reason the client can show.
 * const kicked: CloseFrame = { code: 4001, reason: "removed by a moderator" }
 *
 * export const kick = (connection: Connection) => connection.sendClose(kicked)
 * ```
 *
 * @since 2.0.0
 */
export interface CloseFrame {
  readonly code: number
  readonly reason: string
}

/** The code the runtime reports for a close frame that carried no code (RFC 6455 §7.1.5). */
export const NO_STATUS_RECEIVED = 1005

/** The code the runtime reports when the connection dropped without a close frame. */
export const ABNORMAL_CLOSURE = 1006

/** How the peer's end of a connection that dropped without a close frame is reported: 1006, no reason. */
export const connectionDropped: CloseFrame = { code: ABNORMAL_CLOSURE, reason: "" }

/**
 * The longest close reason, in UTF-8 bytes: a control frame's payload is at most 125 bytes (RFC 6455 §5.5),
 * two of them the code. The runtime's `close()` throws on a longer one.
 */
export const MAX_CLOSE_REASON_BYTES = 123

/**
 * Whether a code may be sent in a close frame (RFC 6455 §7.4): the defined
 * codes 1000–1003 and 1007–1014, and the registered and private range 3000–4999.
 */
export const isValidCloseCode = (code: number): boolean =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)

/** The answer to a close frame whose code may not be on the wire (RFC 6455 §7.4.1: 1002). */
export const invalidCloseCode: CloseFrame = { code: 1002, reason: "invalid close code" }

/** The answer to a close frame whose reason does not fit a control frame (RFC 6455 §5.5: 1002). */
export const closeReasonTooLong: CloseFrame = { code: 1002, reason: "close reason too long" }

/**
 * The close frame that answers the peer's: a valid code and its reason are
 * mirrored, a frame without a code is answered with 1000, any other code and
 * a reason over `MAX_CLOSE_REASON_BYTES` are a protocol error (1002). A
 * connection that dropped (reported as 1006) has nobody to answer: `undefined`,
 * and no close frame is attempted.
 *
 * @example
 * closeReply({ code: 4001, reason: "bye" }) // { code: 4001, reason: "bye" }
 * closeReply({ code: 1005, reason: "" }) // { code: 1000, reason: "" }
 * closeReply({ code: 1006, reason: "" }) // undefined
 */
export const closeReply = (frame: CloseFrame): CloseFrame | undefined => {
  if (frame.code === ABNORMAL_CLOSURE) return undefined
  if (frame.code === NO_STATUS_RECEIVED) return normalClosure
  if (!isValidCloseCode(frame.code)) return invalidCloseCode
  return byteLength(frame.reason) > MAX_CLOSE_REASON_BYTES ? closeReasonTooLong : frame
}

const normalClosure: CloseFrame = { code: 1000, reason: "" }

/** The close frame sent when a message is larger than the limit (RFC 6455 §7.4.1: 1009). */
export const messageTooBig: CloseFrame = { code: 1009, reason: "message too big" }

/** The close frame sent when the server failed while echoing (RFC 6455 §7.4.1: 1011). */
export const internalError: CloseFrame = { code: 1011, reason: "internal error" }

/** The close frame sent when the server stops serving a connection (RFC 6455 §7.4.1: 1001). */
export const goingAway: CloseFrame = { code: 1001, reason: "going away" }
