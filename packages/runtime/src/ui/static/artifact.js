// One artifact: its record (kind, label, file, size, sha256), a table's schema, row
// count and first rows, tensors as shapes and summary statistics, a JSON value. The
// rows or value of a private artifact are not requested until the reader clicks the
// button that says they are private (the rule of `pipeline inspect --private`); the
// server withholds them without ?private=1 as well.
import { el, fill, getJson, labelBadge, pathSegments } from "./dom.js"

const [, runId, , node, output] = pathSegments()
const api = `/api/runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(node)}/${encodeURIComponent(output)}`
const $ = (id) => document.getElementById(id)
const runLink = $("run-link")
runLink.setAttribute("href", `/runs/${encodeURIComponent(runId)}`)
fill(runLink, runId)
fill($("artifact-name"), `${node}.${output}`)
document.title = `dpipe: ${node}.${output}`

const cellText = (v) => (v === null || v === undefined ? "" : typeof v === "string" ? v : JSON.stringify(v))

const headTable = (schema, head) =>
  el("table", { class: "rows", id: "rows" },
    el("thead", {}, el("tr", {}, schema.map((f) => el("th", {}, f.name)))),
    el("tbody", {}, head.map((row) => el("tr", {}, schema.map((f) => el("td", {}, cellText(row[f.name])))))))

const render = (view) => {
  const r = view.record
  const parts = [
    el("h1", {}, `${view.node}.${view.output} `, labelBadge(r.label)),
    el("dl", { class: "facts" },
      el("dt", {}, "kind"), el("dd", {}, r.kind),
      el("dt", {}, "file"), el("dd", {}, el("code", {}, r.file)),
      el("dt", {}, "size"), el("dd", {}, `${r.bytes} bytes`),
      el("dt", {}, "sha256"), el("dd", {}, el("code", {}, r.hash)),
      view.rows !== undefined ? [el("dt", {}, "rows"), el("dd", { id: "row-count" }, String(view.rows))] : null)
  ]
  if (view.schema) {
    parts.push(el("h2", {}, "Schema"), el("table", { class: "schema" }, el("tbody", {}, view.schema.map((f) => el("tr", {}, el("th", {}, f.name), el("td", {}, el("code", {}, f.type)))))))
  }
  if (view.withheld) {
    const button = el("button", { id: "reveal", type: "button", class: "reveal" }, r.kind === "table" ? "Show rows: this table is private data" : "Show the value: this artifact is private data")
    button.addEventListener("click", () => load(true))
    parts.push(el("div", { class: "withheld", id: "withheld" },
      el("p", {}, `This ${r.kind === "table" ? "table's rows are" : "artifact is"} labelled private: computed from private data without noise. They are shown only on request, like pipeline inspect --private.`),
      button))
  }
  if (view.head && view.schema) parts.push(el("h2", {}, `First ${view.head.length} rows`), headTable(view.schema, view.head))
  if (view.tensors) {
    parts.push(el("h2", {}, "Tensors"), el("table", { class: "tensors", id: "tensors" },
      el("thead", {}, el("tr", {}, ["name", "dtype", "shape", "size", "min", "max", "mean", "std"].map((h) => el("th", {}, h)))),
      el("tbody", {}, view.tensors.map((t) => el("tr", {}, el("td", {}, t.name), el("td", {}, t.dtype), el("td", {}, `[${t.shape.join(", ")}]`), el("td", { class: "num" }, String(t.size)),
        [t.min, t.max, t.mean, t.std].map((v) => el("td", { class: "num" }, Number(v).toPrecision(4))))))))
  }
  if (view.value !== undefined) parts.push(el("h2", {}, "Value"), el("pre", { class: "json", id: "value" }, JSON.stringify(view.value, null, 2)))
  fill($("artifact"), parts)
  document.body.setAttribute("data-ready", "true")
}

const load = async (reveal) => {
  try {
    render(await getJson(reveal ? `${api}?rows=20&private=1` : `${api}?rows=20`))
    fill($("problem"))
  } catch (e) {
    fill($("problem"), `cannot read ${node}.${output}: ${e instanceof Error ? e.message : String(e)}`)
    document.body.setAttribute("data-ready", "true")
  }
}

load(false)
