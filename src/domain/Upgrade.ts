/**
 * Whether an `Upgrade` header asks for a WebSocket: the header is a
 * comma-separated list of protocol tokens, compared case-insensitively
 * (RFC 9110 §7.8, RFC 6455 §4.2.1).
 */
export const isWebSocketUpgrade = (header: string | undefined): boolean =>
  header?.split(",").some((token) => token.trim().toLowerCase() === "websocket") ?? false
