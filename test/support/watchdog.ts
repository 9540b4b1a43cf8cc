import { writeFileSync } from "node:fs"
import type { Reporter, TestCase, TestModule } from "vitest/node"

/**
 * A reporter that keeps, in the file named by `BOUNDED_RUN_STATE`, what the run is waiting for: the test files
 * and the tests that have started and not finished, each with when it started. `test/support/bounded.mjs` reads it
 * when a run goes past its deadline, so that a stuck run says what it was stuck on. Without the variable it does
 * nothing.
 */
export default class Watchdog implements Reporter {
  private readonly path = process.env.BOUNDED_RUN_STATE
  private readonly running = new Map<string, number>()

  onTestModuleStart(module: TestModule) {
    this.start(`${module.project.name}: ${module.moduleId}`)
  }

  onTestModuleEnd(module: TestModule) {
    this.end(`${module.project.name}: ${module.moduleId}`)
  }

  onTestCaseReady(test: TestCase) {
    this.start(`${test.project.name}: ${test.module.moduleId} > ${test.fullName}`)
  }

  onTestCaseResult(test: TestCase) {
    this.end(`${test.project.name}: ${test.module.moduleId} > ${test.fullName}`)
  }

  private start(what: string) {
    this.running.set(what, Date.now())
    this.write()
  }

  private end(what: string) {
    this.running.delete(what)
    this.write()
  }

  private write() {
    if (this.path === undefined) return
    writeFileSync(this.path, JSON.stringify(Object.fromEntries(this.running)))
  }
}
