/**
 * Whether a request's `Accept` header asks for HTML rather than JSON: `text/html` is listed with a weight above
 * zero and at least as high as the one JSON gets (from `application/json`, else `application/*`, else any type).
 * A browser's navigation asks for HTML; curl's default, a missing header and `application/json` do not.
 */
export const prefersHtml = (accept: string | undefined): boolean => {
  const weights = new Map<string, number>()
  for (const range of (accept ?? "").split(",")) {
    const [type = "", ...parameters] = range.split(";").map((part) => part.trim().toLowerCase())
    const q = parameters.find((parameter) => parameter.startsWith("q="))
    const weight = q === undefined ? 1 : Number(q.slice(2))
    if (weight >= 0 && weight <= 1) weights.set(type, Math.max(weights.get(type) ?? 0, weight))
  }
  const html = weights.get("text/html") ?? 0
  const json = weights.get("application/json") ?? weights.get("application/*") ?? weights.get("*/*") ?? 0
  return html > 0 && html >= json
}
