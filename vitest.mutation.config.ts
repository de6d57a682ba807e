/**
 * Vitest configuration for mutation testing (stryker.config.json). Stryker runs the tests
 * in a sandbox copy of the repository; the workspace packages are resolved to the
 * sandbox's own sources (not through node_modules, which points back at the original
 * checkout), so that the mutated code is what the tests import. Only the suites that
 * exercise the DP-critical modules in-process and in seconds are included: a test that
 * spawns the CLI runs without the active mutant, and whole-pipeline runs would make each
 * mutant cost a minute.
 */
import { defineConfig } from "vitest/config"
import { fileURLToPath } from "node:url"

const here = (p: string): string => fileURLToPath(new URL(p, import.meta.url))
const packages = ["accounting", "data", "dsl", "engine", "random", "runtime", "scaling", "stages"]

export default defineConfig({
  resolve: {
    alias: packages.flatMap((name) => [
      { find: new RegExp(`^@dpipe/${name}$`), replacement: here(`./packages/${name}/src/index.ts`) },
      { find: new RegExp(`^@dpipe/${name}/(.*)$`), replacement: here(`./packages/${name}/src/$1.ts`) }
    ])
  },
  test: {
    include: [
      "test/engine/dp/**/*.test.ts",
      "test/engine/sampling/**/*.test.ts",
      "test/engine/train/noise-scale.test.ts",
      "test/random/**/*.test.ts",
      "test/accounting/rdp.test.ts",
      "test/accounting/rdp-conversion.test.ts",
      "test/accounting/events.test.ts",
      "test/accounting/selection-event.test.ts",
      "test/dsl/**/*.test.ts",
      "test/runtime/ledger.test.ts",
      "test/runtime/privacy-spend.test.ts",
      "test/runtime/privacy-presentation-budget.test.ts",
      "test/runtime/account-sampling-check.test.ts",
      "test/stages/training-stages/step-event.test.ts"
    ],
    testTimeout: 300_000,
    hookTimeout: 120_000,
    pool: "threads",
    maxWorkers: 1
  }
})
