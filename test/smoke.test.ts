import { describe, expect, it } from "vitest"
describe("smoke", () => { it("runs", () => { expect(process.versions.node.split(".")[0]).toBe("24") }) })
