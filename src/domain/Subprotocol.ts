import { byteLength } from "./Message.js"

/**
 * The longest subprotocol the server agrees to, in bytes (a token is ASCII). RFC 6455 sets no bound, but the
 * agreed subprotocol lives with its socket, in a Durable Object attachment of at most 16 KiB among the rest of the
 * connection (`worstCaseAttachment` in ConnectionMachine.ts): a longer offer must be refused before the socket exists.
 */
export const MAX_SUBPROTOCOL_BYTES = 256

/**
 * The size in UTF-8 bytes of the first element of a `Sec-WebSocket-Protocol` header (or of `PROTOCOLS`) that is
 * longer than `MAX_SUBPROTOCOL_BYTES`; `undefined` when none is. Checked before the elements are parsed, so that
 * such a header is refused for its length, and the refusal never quotes it back.
 *
 * @example
 * oversizedSubprotocol(`chat, ${"x".repeat(300)}`) // 300
 */
export const oversizedSubprotocol = (header: string): number | undefined => {
  // A UTF-16 unit is at most 3 UTF-8 bytes: a header this short has no element that long.
  if (header.length <= MAX_SUBPROTOCOL_BYTES / 3) return undefined
  for (const element of header.split(",")) {
    const bytes = byteLength(element.trim())
    if (bytes > MAX_SUBPROTOCOL_BYTES) return bytes
  }
  return undefined
}

/** `token` of RFC 9110 §5.6.2: one or more visible ASCII characters other than delimiters. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

/**
 * The subprotocols a client offers in `Sec-WebSocket-Protocol` (RFC 6455
 * §4.1, §11.3.4), in its order of preference. Several header lines arrive
 * joined with commas; white space around elements and empty elements are
 * ignored (RFC 9110 §5.6.1). `undefined` when the header holds no token at
 * all, an element that is not a token, or the same token twice.
 */
export const parseSubprotocols = (header: string): ReadonlyArray<string> | undefined => {
  const offered: Array<string> = []
  for (const element of header.split(",")) {
    const token = element.trim()
    if (token === "") continue
    if (!TOKEN.test(token) || offered.includes(token)) return undefined
    offered.push(token)
  }
  return offered.length === 0 ? undefined : offered
}

/**
 * The subprotocol the server answers with (RFC 6455 §4.2.2): with no
 * `supported` list, the client's first offer (as Node `ws` does by default);
 * otherwise the first of the client's offers that is in the list (subprotocol
 * names are case-sensitive). `undefined` when none fits.
 */
export const chooseSubprotocol = (
  offered: ReadonlyArray<string>,
  supported: ReadonlyArray<string>
): string | undefined => (supported.length === 0 ? offered[0] : offered.find((token) => supported.includes(token)))
