import { readFileSync } from "node:fs"

/**
 * The API reference of the package's modules, as an app imports them: one page per module of package.json's
 * `exports` (each `./dist/<Module>.js` is built from `src/<Module>.ts`), with the JSDoc of every name it exports.
 * Paths are relative to this file, but for those of `intentionallyNotExported`, which are the repository's.
 */
const { exports } = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"))
const entryPoints = Object.values(exports).flatMap((target) => {
  const built = /^\.\/dist\/(.+)\.js$/.exec(typeof target === "string" ? target : (target.import ?? ""))
  return built === null ? [] : [`../../src/${built[1]}.ts`]
})

export default {
  name: "websocket-echo",
  entryPoints,
  tsconfig: "../../tsconfig.json",
  out: "../../build/api",
  readme: "none",
  includeVersion: true,
  // The barrel's namespaces are the modules themselves, which the navigation lists under it already.
  navigation: { excludeReferences: true },
  // Inherited members of Effect's classes (a Tag's, an error's) are Effect's to document, not ours.
  excludeExternals: true,
  // A public signature that names a type no module exports fails the build, unless it is listed here: these are
  // internals that public types mention (the behaviours' parser, the traffic counters, the Worker's generated
  // `Env`), left out of the surface on purpose.
  treatValidationWarningsAsErrors: true,
  intentionallyNotExported: [
    "src/domain/Scenario.ts:Scenario",
    "src/domain/Scenario.ts:ScenarioClose",
    "src/domain/Scenario.ts:ScenarioPush",
    "src/domain/RequestInfo.ts:RequestInfo",
    "src/domain/Traffic.ts:Limits",
    "src/domain/Traffic.ts:Traffic",
    "worker-configuration.d.ts:Env"
  ]
}
