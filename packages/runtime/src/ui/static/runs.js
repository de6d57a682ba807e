// The runs page: every run of the store (status, pipeline, scale, start, duration,
// epsilon spent), refreshed every second from /api/runs.
import { el, fill, formatDuration, formatNumber, formatTime, getJson, primaryEpsilon, statusChip } from "./dom.js"

const body = document.getElementById("runs-body")
const storeName = document.getElementById("store")
const problem = document.getElementById("problem")

const row = (r) => {
  const eps = primaryEpsilon(r.privacy)
  const stages = r.stages.byStatus
  const finished = stages.done + stages.cached
  return el(
    "tr",
    { "data-run": r.runId, "data-status": r.status },
    el("td", {}, el("a", { href: `/runs/${encodeURIComponent(r.runId)}`, class: "run-link" }, r.runId)),
    el("td", {}, statusChip(r.status)),
    el("td", {}, el("div", { class: "pipeline" }, r.pipeline), r.description ? el("div", { class: "description" }, r.description) : null),
    el("td", {}, r.scale),
    el("td", {}, formatTime(r.createdAt)),
    el("td", { class: "num" }, formatDuration(r.durationMs)),
    el("td", { class: "num" }, `${finished}/${r.stages.total}`),
    el("td", { class: "num", "data-epsilon": eps ? eps.value : "" }, eps ? `${formatNumber(eps.value)} (${eps.accountant}) of ${formatNumber(r.privacy.budgetEpsilon)}` : "")
  )
}

const refresh = async () => {
  try {
    const list = await getJson("/api/runs")
    fill(storeName, list.store)
    fill(body, list.runs.length === 0 ? el("tr", {}, el("td", { colspan: "8", class: "empty" }, "No runs yet: start one with pnpm pipeline run <pipeline>.")) : list.runs.map(row))
    fill(problem)
  } catch (e) {
    fill(problem, `cannot read the runs: ${e instanceof Error ? e.message : String(e)}`)
  }
}

await refresh()
document.body.setAttribute("data-ready", "true")
setInterval(refresh, 1000)
