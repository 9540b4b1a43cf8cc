import type { TestProjectInlineConfiguration } from "vitest/config"

/**
 * The ways the Worker runs, each as the variables that select it. Every behaviour suite (workerd, e2e,
 * conformance, soak) runs once per mode.
 */
export const MODES = {
  stream: { ECHO_PIPELINE: "stream" },
  handler: { ECHO_PIPELINE: "handler" },
  "durable-object": { ECHO_BACKEND: "durable-object" }
} as const satisfies Record<string, Record<string, string>>

export type Mode = keyof typeof MODES

declare module "vitest" {
  export interface ProvidedContext {
    /** The mode this project's tests run the Worker in. */
    mode: Mode
  }
}

/** One copy of a vitest project per mode, named `name (mode)`, each told its mode through `inject("mode")`. */
export const perMode = (project: TestProjectInlineConfiguration): Array<TestProjectInlineConfiguration> =>
  (Object.keys(MODES) as Array<Mode>).map((mode) => ({
    ...project,
    test: { ...project.test, name: `${project.test?.name} (${mode})`, provide: { ...project.test?.provide, mode } }
  }))
