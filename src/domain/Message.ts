/**
 * A WebSocket message as the runtime delivers it: a string for a text frame,
 * an `ArrayBuffer` for a binary frame.
 *
 * @example
 * ```ts
 * import type { Message } from "websocket-echo/Connection"
 *
 * export const describe = (message: Message) =>
 *   typeof message === "string" ? `text: ${message}` : `binary: ${message.byteLength} bytes`
 * ```
 *
 * @since 2.0.0
 */
export type Message = string | ArrayBuffer

const encoder = new TextEncoder()

/** The UTF-8 length of a string, without encoding it. */
const utf8Length = (text: string): number => {
  let bytes = text.length
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i)
    if (unit < 0x80) continue
    if (unit < 0x800) {
      bytes += 1
      continue
    }
    bytes += 2
    // A surrogate pair is 4 bytes: 3 counted here and 1 for the low half, which is skipped.
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) i++
    }
  }
  return bytes
}

/** The size of a message on the wire: UTF-8 bytes for text, raw bytes for binary. */
export const byteLength = (message: Message): number =>
  typeof message === "string" ? utf8Length(message) : message.byteLength

/**
 * The longest echo prefix, in UTF-8 bytes. The prefix lives with each socket of a Durable Object, in an attachment
 * of at most 16 KiB among the rest of the connection (`worstCaseAttachment` in ConnectionMachine.ts).
 */
export const MAX_PREFIX_BYTES = 256

/**
 * Builds the echo transform for a prefix: text gets the prefix in front, binary
 * gets the prefix's UTF-8 bytes in front of the unchanged payload.
 *
 * @example
 * ```ts
 * import { prefixMessage } from "websocket-echo/EchoServer"
 *
 * const echo = prefixMessage("echo: ")
 * export const text = echo("hello") // "echo: hello"
 * export const binary = echo(new Uint8Array([1, 2]).buffer) // the bytes of "echo: ", then 1 and 2
 * ```
 *
 * @since 2.0.0
 */
export const prefixMessage = (prefix: string): ((message: Message) => Message) => {
  // One transform per prefix, shared by every socket: a socket pays for no closure and no encoded prefix.
  let transform = transforms.get(prefix)
  if (transform === undefined) {
    transform = makePrefix(prefix)
    if (transforms.size < MAX_CACHED_PREFIXES) transforms.set(prefix, transform)
  }
  return transform
}

/** A deployment has one prefix; the cache stays small whatever a caller passes. */
const MAX_CACHED_PREFIXES = 16
const transforms = new Map<string, (message: Message) => Message>()

const makePrefix = (prefix: string): ((message: Message) => Message) => {
  if (prefix === "") return (message) => message
  const prefixBytes = encoder.encode(prefix)
  return (message) => {
    if (typeof message === "string") return prefix + message
    const out = new Uint8Array(prefixBytes.length + message.byteLength)
    out.set(prefixBytes)
    out.set(new Uint8Array(message), prefixBytes.length)
    return out.buffer
  }
}
