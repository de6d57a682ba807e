/** Runner capabilities against stage requirements (cluster/capabilities.ts). */
import { describe, expect, it } from "vitest"
import { availableParallelism } from "node:os"
import { requirementsOf, runnerCapabilities, unmet, validCapability } from "@dpipe/runtime/cluster/capabilities"

describe("cluster capabilities", () => {
  it("derives requirements from perf flags: backend, workers above one, and requires", () => {
    expect(requirementsOf({ backend: "tensorflow", workers: 4, requires: ["gpu=a100"] })).toEqual(["backend=tensorflow", "cores>=4", "gpu=a100"])
    expect(requirementsOf({ backend: "native", workers: 1 })).toEqual(["backend=native"])
    expect(requirementsOf({})).toEqual([])
    expect(requirementsOf(undefined)).toEqual([])
  })

  it("a runner offers its cores and the two built-in backends; --capability adds, and a given cores replaces the default", () => {
    expect(runnerCapabilities([])).toEqual([`cores=${availableParallelism()}`, "backend=native", "backend=wasm"])
    expect(runnerCapabilities(["backend=tensorflow", "cores=64"])).toEqual(["backend=native", "backend=wasm", "backend=tensorflow", "cores=64"])
  })

  it("meets key=value by the same pair and key>=n by a larger or equal number", () => {
    const caps = ["cores=8", "backend=native", "backend=wasm"]
    expect(unmet(["backend=native", "cores>=8"], caps)).toEqual([])
    expect(unmet(["cores>=4"], caps)).toEqual([])
    expect(unmet(["cores>=9"], caps)).toEqual(["cores>=9"])
    expect(unmet(["backend=tensorflow", "backend=wasm"], caps)).toEqual(["backend=tensorflow"])
    expect(unmet(["gpu>=1"], caps)).toEqual(["gpu>=1"])
  })

  it("accepts key=value and key>=n on the command line, nothing else", () => {
    expect(["backend=tensorflow", "cores>=4", "gpu=a100"].every(validCapability)).toBe(true)
    expect(["backend", "=x", "a b=c", "k==v"].some(validCapability)).toBe(false)
  })
})
