/** `scheme://host[:port]` and nothing else: no path, query, fragment or credentials. */
const ORIGIN = /^[a-z][a-z0-9+.-]*:\/\/[^/?#@\s]+$/i

/**
 * The canonical form of an origin (RFC 6454 §6.1): scheme and host in lower
 * case, the scheme's default port dropped (`https://Example.com:443` is
 * `https://example.com`). `undefined` for anything that is not an origin,
 * including the opaque origin `null`.
 */
export const normalizeOrigin = (text: string): string | undefined => {
  const trimmed = text.trim()
  if (!ORIGIN.test(trimmed)) return undefined
  let url: URL
  try {
    url = new URL(trimmed)
  } catch {
    return undefined
  }
  if (url.hostname === "") return undefined
  // URL drops the default port of http, https, ws and wss, and lower-cases (and punycodes) their hosts.
  return `${url.protocol}//${url.hostname.toLowerCase()}${url.port === "" ? "" : `:${url.port}`}`
}

/** Which pages may open a socket. */
export interface OriginPolicy {
  /** Origins allowed to connect, in canonical form; empty allows every origin. */
  readonly allowedOrigins: ReadonlyArray<string>
  /** Whether a request without an `Origin` header (CLI tools, servers) is refused. */
  readonly requireOrigin: boolean
}

/**
 * Whether a WebSocket handshake with this `Origin` header may proceed (RFC 6455
 * §10.2). Matching is exact on the canonical form; an `Origin` that is not a
 * valid origin (`null`, several values, garbage) matches no listed origin.
 */
export const isOriginAllowed = (policy: OriginPolicy, origin: string | undefined): boolean => {
  if (origin === undefined) return !policy.requireOrigin
  if (policy.allowedOrigins.length === 0) return true
  const canonical = normalizeOrigin(origin)
  return canonical !== undefined && policy.allowedOrigins.includes(canonical)
}
