// What a built Worker is made of, read from esbuild's metafile (`wrangler deploy --dry-run --outdir DIR --metafile`)
// and the bundle's source map: raw and gzip bytes by package, by our module, and for the code evaluated at load.
// No bench state: a test can call `bundleReport` on a build of its own.
import { existsSync, readFileSync } from "node:fs"
import { dirname, relative, resolve } from "node:path"
import { gzipSync } from "node:zlib"

/** The parts of esbuild's metafile this reads. */
export interface Metafile {
  readonly inputs: Record<
    string,
    { readonly imports?: ReadonlyArray<{ readonly path: string; readonly kind: string }> }
  >
  readonly outputs: Record<
    string,
    {
      readonly bytes: number
      readonly entryPoint?: string
      readonly inputs: Record<string, { readonly bytesInOutput: number }>
    }
  >
}

export interface Part {
  readonly name: string
  /** Bytes in the (minified) output, from the metafile. */
  readonly raw: number
  /** gzip -9 of this part's output text alone (the parts together compress less well than the whole). */
  readonly gzip: number
}

export interface BundleReport {
  /** The output file, relative to `root`. */
  readonly output: string
  readonly raw: number
  readonly gzip: number
  /** What the isolate evaluates before its first request: the entry and all it imports statically. */
  readonly atLoad: Part & { readonly modules: number }
  /** Inputs that only a dynamic `import()` reaches, evaluated when a request first needs them. */
  readonly onDemand: Part & { readonly modules: number }
  /** By npm package (`effect`, `@effect/platform`, ...); `ours` is everything under `src/`. Largest first. */
  readonly byPackage: ReadonlyArray<Part>
  /** Our modules (`src/...`), largest first. */
  readonly byModule: ReadonlyArray<Part>
}

/** `ours` for the project's own files, else the npm package a path is in (`@scope/name` or `name`). */
export const packageOf = (path: string): string => {
  const at = path.lastIndexOf("node_modules/")
  if (at < 0) return path.startsWith("src/") ? "ours" : "other"
  const [first, second] = path.slice(at + "node_modules/".length).split("/")
  return first?.startsWith("@") ? `${first}/${second}` : (first ?? "other")
}

/**
 * One key for a module whatever form it is named in: the metafile names a package's built file
 * (`node_modules/effect/dist/esm/Stream.js`), the source map the source it came from (`node_modules/effect/src/Stream.ts`).
 */
const moduleKey = (path: string): string =>
  path
    .replace(/^(\.\.\/)+/, "")
    .replace(/(node_modules\/(?:@[^/]+\/)?[^/]+\/)(?:dist\/(?:esm|cjs|dts)\/|dist\/|src\/)/, "$1")
    .replace(/\.(?:m?js|ts|tsx|cjs)$/, "")

const BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
const DIGIT = new Map([...BASE64].map((c, i) => [c, i]))

/** The source-map v3 `mappings` as, per generated line, the column each segment starts at and its source (or -1). */
const decodeMappings = (mappings: string): Array<Array<readonly [number, number]>> => {
  const lines: Array<Array<readonly [number, number]>> = []
  let source = 0
  for (const line of mappings.split(";")) {
    const segments: Array<readonly [number, number]> = []
    let column = 0
    for (const segment of line.split(",")) {
      if (segment === "") continue
      const fields: number[] = []
      let value = 0
      let shift = 0
      for (const char of segment) {
        const digit = DIGIT.get(char) ?? 0
        value += (digit & 31) << shift
        if (digit & 32) shift += 5
        else {
          fields.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = 0
          shift = 0
        }
      }
      column += fields[0] ?? 0
      if (fields.length >= 4) {
        source += fields[1] ?? 0
        segments.push([column, source])
      } else segments.push([column, -1])
    }
    lines.push(segments)
  }
  return lines
}

/**
 * The output's text cut into slices, each with the module (as `moduleKey`) its bytes came from, in output order;
 * text no mapping covers (esbuild's helpers, the glue between modules) is `""`.
 */
const slicesOf = (code: string, map: { sources: string[]; mappings: string }, mapDir: string, root: string) => {
  const keys = map.sources.map((source) => moduleKey(relative(root, resolve(mapDir, source))))
  const slices: Array<{ key: string; text: string }> = []
  const lines = code.split("\n")
  decodeMappings(map.mappings).forEach((segments, index) => {
    const line = `${lines[index] ?? ""}${index < lines.length - 1 ? "\n" : ""}`
    // Each segment runs to the next one's column; the text before the first belongs to no module.
    const starts = [[0, -1] as const, ...segments]
    starts.forEach(([column, source], i) => {
      const end = i + 1 < starts.length ? (starts[i + 1] as readonly [number, number])[0] : line.length
      if (end > column) slices.push({ key: source < 0 ? "" : (keys[source] as string), text: line.slice(column, end) })
    })
  })
  return slices
}

const gzipOf = (texts: ReadonlyArray<string>) => gzipSync(Buffer.from(texts.join("")), { level: 9 }).length

/** The inputs an entry reaches through static imports (`import`, `require`), not through `import()`. */
export const staticClosure = (meta: Metafile, entry: string): Set<string> => {
  const seen = new Set<string>()
  const visit = (path: string) => {
    if (seen.has(path)) return
    seen.add(path)
    for (const imported of meta.inputs[path]?.imports ?? [])
      if (imported.kind === "import-statement" || imported.kind === "require-call") visit(imported.path)
  }
  visit(entry)
  return seen
}

/** The metafile with every path relative to `root` rather than to `base`, the directory esbuild resolved from. */
const rebased = (meta: Metafile, base: string, root: string): Metafile => {
  if (resolve(base) === resolve(root)) return meta
  const path = (p: string) => relative(root, resolve(base, p))
  const keys = <T>(record: Record<string, T>, value: (v: T) => T) =>
    Object.fromEntries(Object.entries(record).map(([k, v]) => [path(k), value(v)]))
  return {
    inputs: keys(meta.inputs, (input) =>
      input.imports === undefined
        ? input
        : { ...input, imports: input.imports.map((i) => ({ ...i, path: path(i.path) })) }
    ),
    outputs: keys(meta.outputs, (output) => ({
      ...output,
      ...(output.entryPoint === undefined ? {} : { entryPoint: path(output.entryPoint) }),
      inputs: keys(output.inputs, (v) => v)
    }))
  }
}

/**
 * Reads `metafile` (paths relative to `base`, the directory of the wrangler.toml wrangler built from; by default
 * `root`) and its JavaScript output with the source map beside it (`worker.js.map`), and sizes the parts, named
 * relative to `root`. Without a source map, a part's gzip is its share of raw bytes times the whole bundle's gzip.
 */
export const bundleReport = (metafile: string, root: string, base = root): BundleReport => {
  const meta = rebased(JSON.parse(readFileSync(metafile, "utf8")) as Metafile, base, root)
  const [outputPath, output] = Object.entries(meta.outputs).find(([path]) => path.endsWith(".js")) ?? []
  if (outputPath === undefined || output === undefined) throw new Error(`${metafile} names no JavaScript output`)
  const file = resolve(root, outputPath)
  const code = readFileSync(file, "utf8")
  const total = gzipOf([code])
  const slices = existsSync(`${file}.map`)
    ? slicesOf(code, JSON.parse(readFileSync(`${file}.map`, "utf8")), dirname(file), root)
    : undefined
  const part = (name: string, inputs: ReadonlyArray<string>): Part => {
    const raw = inputs.reduce((sum, input) => sum + (output.inputs[input]?.bytesInOutput ?? 0), 0)
    if (slices === undefined) return { name, raw, gzip: Math.round((raw / output.bytes) * total) }
    const keys = new Set(inputs.map(moduleKey))
    return { name, raw, gzip: gzipOf(slices.filter((s) => keys.has(s.key)).map((s) => s.text)) }
  }
  const inputs = Object.keys(output.inputs).filter((input) => (output.inputs[input]?.bytesInOutput ?? 0) > 0)
  const grouped = (nameOf: (input: string) => string | undefined) => {
    const groups = new Map<string, string[]>()
    for (const input of inputs) {
      const name = nameOf(input)
      if (name !== undefined) groups.set(name, [...(groups.get(name) ?? []), input])
    }
    return [...groups.entries()].map(([name, members]) => part(name, members)).sort((a, b) => b.raw - a.raw)
  }
  const closure = output.entryPoint === undefined ? new Set(inputs) : staticClosure(meta, output.entryPoint)
  const atLoad = inputs.filter((input) => closure.has(input))
  const onDemand = inputs.filter((input) => !closure.has(input))
  const loaded = part("evaluated at load", atLoad)
  // What no input claims (esbuild's helpers, the glue between modules) runs at load too.
  const loadedKeys = new Set(["", ...atLoad.map(moduleKey)])
  const loadedText = slices?.filter((s) => loadedKeys.has(s.key)).map((s) => s.text)
  return {
    output: relative(root, file),
    raw: Buffer.byteLength(code),
    gzip: total,
    atLoad:
      loadedText === undefined
        ? { ...loaded, modules: atLoad.length }
        : { ...loaded, raw: Buffer.byteLength(loadedText.join("")), gzip: gzipOf(loadedText), modules: atLoad.length },
    onDemand:
      onDemand.length === 0
        ? { name: "evaluated on demand", raw: 0, gzip: 0, modules: 0 }
        : { ...part("evaluated on demand", onDemand), modules: onDemand.length },
    byPackage: grouped(packageOf),
    byModule: grouped((input) => (input.startsWith("src/") ? input : undefined))
  }
}
