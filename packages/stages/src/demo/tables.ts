/** Row schemas of the demo pipeline. */
import { Col, makeTable } from "@dpipe/dsl"

export const Numbers = makeTable("numbers", { id: Col.int32, value: Col.float64 })
export const Totals = makeTable("totals", { step: Col.int32, total: Col.float64, digest: Col.utf8 })
