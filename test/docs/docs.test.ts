import { execFile, spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, beforeAll, describe, expect, it } from "vitest"

/**
 * The documentation as a reader meets it: every relative link leads somewhere, the front page and the pages under
 * docs/ read without scrolling sideways, and every code block in them runs or compiles as shown. `ts` blocks are
 * typechecked against this repository's sources, imported by the package's name, as an app that installed the
 * package would import them. So are the examples of the API reference (`npm run docs:api`): the `ts` blocks of the
 * sources' JSDoc. And every name a module of the package exports is documented where it is declared, with an
 * example and the version it came in.
 */

const root = fileURLToPath(new URL("../..", import.meta.url))
const blocksDir = join(root, "test/docs/.blocks")
const MAX_LINE = 120

const pages = [
  "README.md",
  "CHANGELOG.md",
  ...readdirSync(join(root, "docs"))
    .filter((name) => name.endsWith(".md"))
    .sort()
    .map((name) => `docs/${name}`),
  "bench/README.md",
  "examples/consumer/README.md"
]

/** Pages that must not be wider than `MAX_LINE` characters, tables and code blocks included. */
const narrow = (page: string) => page === "README.md" || /^docs\/[^/]+\.md$/.test(page)

interface Block {
  readonly page: string
  /** The 1-based line of the block's first line of code. */
  readonly line: number
  readonly lang: string
  readonly code: string
}

const read = (page: string) => readFileSync(join(root, page), "utf8")

/** The fenced code blocks of `lines`, the text of `page` from its line `first`, with their language and line. */
const fencedBlocks = (page: string, lines: ReadonlyArray<string>, first = 1): Array<Block> => {
  const blocks: Array<Block> = []
  let open: { fence: string; lang: string; line: number; lines: Array<string> } | undefined
  lines.forEach((text, index) => {
    if (open === undefined) {
      const start = /^(`{3,})\s*([\w-]*)/.exec(text)
      if (start !== null) open = { fence: start[1] ?? "```", lang: start[2] ?? "", line: first + index + 1, lines: [] }
    } else if (text.trim() === open.fence) {
      blocks.push({ page, line: open.line, lang: open.lang, code: `${open.lines.join("\n")}\n` })
      open = undefined
    } else {
      open.lines.push(text)
    }
  })
  return blocks
}

/** The fenced code blocks of a page, with their language and where they start. */
const blocksOf = (page: string): Array<Block> => fencedBlocks(page, read(page).split("\n"))

/** The page's text outside code: fenced blocks and inline code blanked out, line breaks kept. */
const prose = (page: string): string => {
  let fence: string | undefined
  const lines = read(page)
    .split("\n")
    .map((text) => {
      const start = /^(`{3,})/.exec(text)
      if (fence === undefined && start !== null) {
        fence = start[1]
        return ""
      }
      if (fence !== undefined) {
        if (text.trim() === fence) fence = undefined
        return ""
      }
      return text
    })
  return lines.join("\n").replace(/(`+)[\s\S]*?\1/g, (code) => code.replace(/[^\n]/g, " "))
}

/** GitHub's anchor for a heading: its text, lower-cased, without punctuation, spaces as dashes. */
const slug = (heading: string) =>
  heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/[`*_]/g, "")
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s-]/gu, "")
    .replace(/\s/g, "-")

const anchorsOf = (page: string): Set<string> => {
  const original = read(page).split("\n")
  const anchors = new Set<string>()
  const seen = new Map<string, number>()
  // Headings are found in `prose` (not in code blocks), and named from the page itself (with their inline code).
  prose(page)
    .split("\n")
    .forEach((text, index) => {
      if (!/^#{1,6}\s/.test(text)) return
      const base = slug((original[index] ?? "").replace(/^#{1,6}\s+/, "").replace(/\s+#+\s*$/, ""))
      const count = seen.get(base) ?? 0
      seen.set(base, count + 1)
      anchors.add(count === 0 ? base : `${base}-${count}`)
    })
  return anchors
}

interface Link {
  readonly line: number
  readonly target: string
}

/** Links and images outside code, inline (`[text](target)`) and as definitions (`[name]: target`). */
const linksOf = (page: string): Array<Link> => {
  const text = prose(page)
  const lineAt = (index: number) => text.slice(0, index).split("\n").length
  const links: Array<Link> = []
  for (const match of text.matchAll(/!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) {
    links.push({ line: lineAt(match.index ?? 0), target: match[1] ?? "" })
  }
  for (const match of text.matchAll(/^ {0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm)) {
    links.push({ line: lineAt(match.index ?? 0), target: match[1] ?? "" })
  }
  return links
}

/** Why a relative link does not resolve, or undefined when it does (links with a scheme are not followed). */
const brokenLink = (page: string, target: string): string | undefined => {
  if (/^[a-z][a-z\d+.-]*:/i.test(target)) return undefined
  const [path = "", fragment] = target.split("#", 2)
  const file = path === "" ? join(root, page) : resolve(dirname(join(root, page)), decodeURIComponent(path))
  if (!existsSync(file)) return `${relative(root, file)} does not exist`
  if (fragment !== undefined && file.endsWith(".md") && !anchorsOf(relative(root, file)).has(fragment)) {
    return `${relative(root, file)} has no heading for #${fragment}`
  }
  return undefined
}

const allBlocks = pages.flatMap(blocksOf)
const isTs = (block: Block) => block.lang === "ts" || block.lang === "typescript"
const isJs = (block: Block) => block.lang === "js" || block.lang === "javascript" || block.lang === "mjs"
const isShell = (block: Block) => block.lang === "sh" || block.lang === "bash" || block.lang === "shell"

/** A module of the package, by the name an app imports it with (`websocket-echo/Workers`), and its source. */
interface PackageModule {
  readonly specifier: string
  readonly source: string
}

/** The modules of package.json's `exports`: each `./dist/<Module>.js` is built from `src/<Module>.ts`. */
const packageModules: ReadonlyArray<PackageModule> = Object.entries(
  (JSON.parse(read("package.json")) as { exports: Record<string, string | { import?: string }> }).exports
).flatMap(([subpath, target]) => {
  const built = /^\.\/dist\/(.+)\.js$/.exec(typeof target === "string" ? target : (target.import ?? ""))
  return built === null ? [] : [{ specifier: `websocket-echo${subpath.slice(1)}`, source: `src/${built[1]}.ts` }]
})

const sources = readdirSync(join(root, "src"), { recursive: true, encoding: "utf8" })
  .filter((name) => name.endsWith(".ts"))
  .sort()
  .map((name) => `src/${name}`)

interface DocComment {
  /** The 1-based line of its opening `/**`. */
  readonly line: number
  /** Its text line by line, from the line of its opening, without the leading `*` of each line. */
  readonly lines: ReadonlyArray<string>
  /** Where the comment ends in its file's text. */
  readonly end: number
}

const docCommentsOf = (file: string): Array<DocComment> => {
  const text = read(file)
  return [...text.matchAll(/\/\*\*([\s\S]*?)\*\//g)].map((match) => ({
    line: text.slice(0, match.index).split("\n").length,
    lines: (match[1] ?? "").split("\n").map((line) => line.replace(/^\s*\* ?/, "")),
    end: match.index + match[0].length
  }))
}

/** The `ts` blocks of the sources' JSDoc: the examples of the API reference. */
const exampleBlocks = sources.flatMap((file) =>
  docCommentsOf(file).flatMap((doc) => fencedBlocks(file, doc.lines, doc.line))
)

/** A name a module exports, and the source file that declares it. */
interface Export {
  readonly name: string
  readonly file: string
}

const declaration = (name: string) =>
  new RegExp(
    `^export\\s+(?:declare\\s+)?(?:abstract\\s+)?(?:const|let|function|class|interface|type|enum)\\s+${name}\\b`,
    "m"
  )

/** The source file an `import`/`export … from` of `file` names. */
const sourceFrom = (file: string, specifier: string) =>
  relative(root, resolve(dirname(join(root, file)), specifier.replace(/\.js$/, ".ts")))

/**
 * The names a source file exports, each with the file that declares it: its own declarations, and those it
 * re-exports (`export { … } from`, `export *`), followed to where they are declared. A namespace (`export * as`)
 * is a module of its own, checked as one.
 */
const exportsOf = (file: string): Array<Export> => {
  const text = read(file)
  const names: Array<Export> = []
  for (const match of text.matchAll(new RegExp(declaration("(\\w+)").source, "gm"))) {
    names.push({ name: match[1] ?? "", file })
  }
  for (const match of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*"([^"]+)"/gm)) {
    const from = sourceFrom(file, match[2] ?? "")
    for (const specifier of (match[1] ?? "").split(",")) {
      const [name = "", alias] = specifier
        .trim()
        .replace(/^type\s+/, "")
        .split(/\s+as\s+/)
      if (name === "") continue
      names.push({ name: alias ?? name, file: exportsOf(from).find((found) => found.name === name)?.file ?? from })
    }
  }
  for (const match of text.matchAll(/^export\s+\*\s+from\s+"([^"]+)"/gm)) {
    names.push(...exportsOf(sourceFrom(file, match[1] ?? "")))
  }
  return names
}

/** The JSDoc right above the declaration of a name. */
const docOf = ({ name, file }: Export): DocComment | undefined => {
  const text = read(file)
  const declared = declaration(name).exec(text)
  if (declared === null) return undefined
  return docCommentsOf(file).find(
    (doc) => doc.end <= declared.index && text.slice(doc.end, declared.index).trim() === ""
  )
}

/** What a JSDoc lacks of what the reference shows: an example in a `ts` block, and the version it came in. */
const missingFrom = (doc: DocComment | undefined): Array<string> => {
  if (doc === undefined) return ["JSDoc"]
  const text = doc.lines.join("\n")
  return [
    ...(/@example\s*\n```(ts|typescript)\n/.test(text) ? [] : ["@example with a ts block"]),
    ...(/@since \d+\.\d+\.\d+/.test(text) ? [] : ["@since"])
  ]
}

/** The file a block is checked in: named after its page and line, so that a failure says where it is. */
const fileOf = (block: Block, extension: string) =>
  join(blocksDir, `${block.page.replace(/[/.]/g, "_")}-line${block.line}.${extension}`)

const tsBlocks = [...allBlocks, ...exampleBlocks].filter(isTs)
let tsErrors: Map<string, Array<string>> = new Map()

beforeAll(async () => {
  rmSync(blocksDir, { recursive: true, force: true })
  mkdirSync(blocksDir, { recursive: true })
  for (const block of tsBlocks) {
    // A snippet with no import or export would be a script sharing its names with every other snippet.
    const isModule = /^\s*(import|export)\s/m.test(block.code)
    writeFileSync(fileOf(block, "ts"), isModule ? block.code : `${block.code}export {}\n`)
  }
  writeFileSync(
    join(blocksDir, "tsconfig.json"),
    JSON.stringify({
      extends: "../../../tsconfig.json",
      // Only the modules of `exports`, as an app that installed the package can import them; the sources compiled
      // with the blocks declare the Worker's `Env` that `wrangler types` generates.
      compilerOptions: {
        paths: Object.fromEntries(packageModules.map(({ specifier, source }) => [specifier, [`../../../${source}`]]))
      },
      include: ["*.ts", "../../../worker-configuration.d.ts"]
    })
  )
  // The repository's TypeScript (7, the native compiler) through its command line.
  const output = await new Promise<string>((resolveOutput) =>
    execFile(
      join(root, "node_modules/.bin/tsc"),
      ["--noEmit", "--pretty", "false", "-p", join(blocksDir, "tsconfig.json")],
      { cwd: root, timeout: 40_000 },
      (error, stdout, stderr) => {
        if (error?.killed) resolveOutput(`tsc did not finish within 40 s\n${stdout}${stderr}`)
        else resolveOutput(`${stdout}${stderr}`)
      }
    )
  )
  tsErrors = new Map()
  for (const line of output.split("\n").filter((text) => text.trim() !== "")) {
    const located = /^(.*?\.ts)\((\d+),\d+\): (.*)$/.exec(line)
    const file = located === null ? "" : resolve(root, located[1] ?? "")
    const block = tsBlocks.find((candidate) => fileOf(candidate, "ts") === file)
    const key = block === undefined ? "" : file
    const message =
      block === undefined || located === null
        ? line
        : `${block.page}:${block.line + Number(located[2]) - 1}: ${located[3]}`
    tsErrors.set(key, [...(tsErrors.get(key) ?? []), message])
  }
}, 45_000)

afterAll(() => {
  rmSync(blocksDir, { recursive: true, force: true })
})

describe.each(pages)("%s", (page) => {
  it("links only to files and headings that exist", () => {
    const broken = linksOf(page).flatMap(({ line, target }) => {
      const why = brokenLink(page, target)
      return why === undefined ? [] : [`${page}:${line}: ${target}: ${why}`]
    })
    expect(broken).toEqual([])
  }, 5_000)

  if (narrow(page)) {
    it(`has no line over ${MAX_LINE} characters`, () => {
      let generated = false
      const wide = read(page)
        .split("\n")
        .flatMap((text, index) => {
          // The soak writes its own summary between these markers (test/soak/soak.test.ts), tables and all.
          if (text.includes("<!-- soak:begin -->")) generated = true
          if (text.includes("<!-- soak:end -->")) generated = false
          const length = [...text].length
          return generated || length <= MAX_LINE ? [] : [`${page}:${index + 1}: ${length} characters`]
        })
      expect(wide).toEqual([])
    }, 5_000)
  }

  const blocks = allBlocks.filter((block) => block.page === page)
  const each = (kind: (block: Block) => boolean) => blocks.filter(kind).map((block) => [block.line, block] as const)

  it.each(each(isShell))(
    "sh block at line %i parses (bash -n)",
    (_, block) => {
      const result = spawnSync("bash", ["-n"], { input: block.code, encoding: "utf8", timeout: 4_000 })
      expect(result.stderr).toBe("")
      expect(result.status).toBe(0)
    },
    5_000
  )

  it.each(each(isJs))(
    "js block at line %i parses (node --check)",
    (_, block) => {
      const file = fileOf(block, "mjs")
      writeFileSync(file, block.code)
      const result = spawnSync(process.execPath, ["--check", file], { encoding: "utf8", timeout: 8_000 })
      expect(result.stderr).toBe("")
      expect(result.status).toBe(0)
    },
    10_000
  )

  it.each(each(isTs))(
    "ts block at line %i typechecks",
    (_, block) => {
      expect(tsErrors.get(fileOf(block, "ts")) ?? []).toEqual([])
    },
    5_000
  )
})

describe.each(packageModules)("$specifier", ({ source }) => {
  it("has a module comment with an example, its version and @module", () => {
    const [first] = docCommentsOf(source)
    const opens = first !== undefined && read(source).slice(0, first.end).trimStart().startsWith("/**")
    const missing = opens ? missingFrom(first) : ["a module comment"]
    if (opens && !first.lines.some((line) => /^@module\b/.test(line))) missing.push("@module")
    expect(missing).toEqual([])
  }, 5_000)

  it("exports only names documented where they are declared, with an example and their version", () => {
    const undocumented = exportsOf(source).flatMap((entry) => {
      const missing = missingFrom(docOf(entry))
      return missing.length === 0 ? [] : [`${entry.name} (${entry.file}) has no ${missing.join(" and no ")}`]
    })
    expect(undocumented).toEqual([])
  }, 5_000)
})

describe("the sources' JSDoc", () => {
  it.each(exampleBlocks.filter(isTs).map((block) => [`${block.page}:${block.line}`, block] as const))(
    "ts block at %s typechecks",
    (_, block) => {
      expect(tsErrors.get(fileOf(block, "ts")) ?? []).toEqual([])
    },
    5_000
  )
})

it("typechecks the ts blocks without errors outside them", () => {
  expect(tsErrors.get("") ?? []).toEqual([])
}, 5_000)
