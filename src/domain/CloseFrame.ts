/** The code and reason of a WebSocket close frame. */
export interface CloseFrame {
  readonly code: number
  readonly reason: string
}

/** The code the runtime reports for a close frame that carried no code (RFC 6455 §7.1.5). */
export const NO_STATUS_RECEIVED = 1005

/** The code the runtime reports when the connection dropped without a close frame. */
export const ABNORMAL_CLOSURE = 1006

/**
 * Whether a code may be sent in a close frame (RFC 6455 §7.4): the defined
 * codes 1000–1003 and 1007–1014, and the registered and private range 3000–4999.
 */
export const isValidCloseCode = (code: number): boolean =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999)

/**
 * The close frame that answers the peer's: a valid code and its reason are
 * mirrored, a frame without a code is answered with 1000, and any other code
 * is a protocol error (1002).
 */
export const closeReply = (frame: CloseFrame): CloseFrame => {
  if (isValidCloseCode(frame.code)) return frame
  if (frame.code === NO_STATUS_RECEIVED) return { code: 1000, reason: "" }
  return { code: 1002, reason: "invalid close code" }
}

/** The close frame sent when a message is larger than the limit (RFC 6455 §7.4.1: 1009). */
export const messageTooBig: CloseFrame = { code: 1009, reason: "message too big" }

/** The close frame sent when the server failed while echoing (RFC 6455 §7.4.1: 1011). */
export const internalError: CloseFrame = { code: 1011, reason: "internal error" }
