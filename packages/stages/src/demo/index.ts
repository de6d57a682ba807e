/** Toy stages of the demo pipeline (and of the runtime's tests). */
export { accumulate } from "./accumulate.ts"
export { generate } from "./generate.ts"
export { square } from "./square.ts"
export { Summary, summarize } from "./summarize.ts"
export { Numbers, Totals } from "./tables.ts"
