import { beforeAll, describe, it } from "vitest"

/**
 * A case where workerd itself does not do what RFC 6455 requires. The case runs once; the RFC's
 * requirement is asserted as an expected failure (so a runtime that fixes it turns the suite red and
 * the gap gets re-examined), and what the runtime does today is asserted exactly.
 */
export const platformGap = <A>(
  title: string,
  run: () => Promise<A>,
  checks: { readonly rfc: (result: A) => void; readonly observed: (result: A) => void }
) =>
  describe(`known platform gap: ${title}`, () => {
    let result: A
    beforeAll(async () => {
      result = await run()
    })
    it.fails("the RFC's requirement (expected to fail on this runtime)", () => checks.rfc(result))
    it("the runtime's observed behaviour", () => checks.observed(result))
  })
