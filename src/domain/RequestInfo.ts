/** The Cloudflare properties of a request that `GET /whoami` reports, as far as they exist. */
export type CloudflareInfo =
  | {
      readonly present: true
      readonly colo: string | null
      readonly country: string | null
      readonly tlsVersion: string | null
      readonly tlsCipher: string | null
      readonly httpProtocol: string | null
    }
  | { readonly present: false; readonly reason: string }

/** What the server sees of a request: `GET /whoami`'s body, and the first message of `info=true`. */
export interface RequestInfo {
  /** `CF-Connecting-IP`: the client's address as Cloudflare (or local development's proxy) saw it. */
  readonly address: string | null
  readonly method: string
  readonly url: string
  readonly httpVersion: string
  /** The request headers, lower-cased, with the values of `Cookie` and `Authorization` redacted. */
  readonly headers: Readonly<Record<string, string>>
  readonly cloudflare: CloudflareInfo
}

const REDACTED = new Set(["cookie", "authorization", "proxy-authorization"])

/** The ja3 hash of the fixed placeholder that local development (Miniflare) puts on every request as `cf`. */
const LOCAL_PLACEHOLDER_JA3 = "25b4882c2bcb50cd6b469ff28c596742"

interface IncomingCf {
  readonly colo?: unknown
  readonly country?: unknown
  readonly tlsVersion?: unknown
  readonly tlsCipher?: unknown
  readonly httpProtocol?: unknown
  readonly botManagement?: { readonly ja3Hash?: unknown }
}

const text = (value: unknown): string | null => (typeof value === "string" && value !== "" ? value : null)

const cloudflareOf = (cf: IncomingCf | undefined): CloudflareInfo =>
  cf === undefined || cf.botManagement?.ja3Hash === LOCAL_PLACEHOLDER_JA3
    ? { present: false, reason: "not served by Cloudflare's network (local development): no Cloudflare properties" }
    : {
        present: true,
        colo: text(cf.colo),
        country: text(cf.country),
        tlsVersion: text(cf.tlsVersion),
        tlsCipher: text(cf.tlsCipher),
        httpProtocol: text(cf.httpProtocol)
      }

/** What the server sees of `request`, with credentials redacted. */
export const requestInfo = (request: Request): RequestInfo => {
  const headers: Record<string, string> = {}
  for (const [name, value] of request.headers) headers[name] = REDACTED.has(name) ? "<redacted>" : value
  const cloudflare = cloudflareOf((request as { readonly cf?: IncomingCf }).cf)
  return {
    address: request.headers.get("cf-connecting-ip"),
    method: request.method,
    url: request.url,
    // Off Cloudflare's network the request reached workerd's own listener, which speaks HTTP/1.1 only.
    httpVersion: (cloudflare.present ? cloudflare.httpProtocol : null) ?? "HTTP/1.1",
    headers,
    cloudflare
  }
}

/** The first message of `info=true`: what the server saw of the request, the agreed subprotocol and the connection's id. */
export const connectionInfo = (request: RequestInfo, protocol: string | undefined, connection: string): string =>
  JSON.stringify({ ...request, protocol: protocol ?? null, connection })
