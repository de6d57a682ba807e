// One run: the DAG with each stage's state, the stages' live progress, live training
// charts (loss of each trainer, epsilon against steps with the budget line, clipped
// fraction, tokens/s), the privacy spend, ledger and statement, the artifacts with
// their labels and the stages' messages. Live state comes from the server-sent events
// of /api/runs/:id/events; the ledger and statement from /api/runs/:id.
import { lineChart } from "./charts.js"
import { drawDag } from "./dag.js"
import { el, fill, formatDuration, formatNumber, formatTime, getJson, labelBadge, pathSegments, primaryEpsilon, statusChip } from "./dom.js"

const runId = pathSegments()[1]
const api = `/api/runs/${encodeURIComponent(runId)}`
const $ = (id) => document.getElementById(id)
fill($("run-id"), runId)
document.title = `dpipe: ${runId}`

let record = undefined
let detail = undefined
/** node -> Map(step -> { total, metrics }); a resumed stage overwrites the steps it redoes. */
const progress = new Map()
const messages = []
let scheduled = false

const addEvents = (events) => {
  for (const e of events) {
    if (e.type === "stage-progress") {
      let m = progress.get(e.node)
      if (!m) progress.set(e.node, (m = new Map()))
      m.set(e.step, { total: e.total, metrics: e.metrics })
    } else if (e.type === "stage-info" || e.type === "warning" || e.type === "stage-failed" || e.type === "stage-blocked") {
      const text = e.type === "stage-info" || e.type === "warning" ? e.message : e.type === "stage-failed" ? `failed: ${e.error}` : `not run: ${e.because}`
      messages.push({ time: e.time, node: e.node ?? "", kind: e.type, text })
    } else if (e.type === "run-start") {
      messages.push({ time: e.time, node: "", kind: e.type, text: `${e.resumed ? "resumed" : "started"}: ${e.nodes.length} stages` })
    }
  }
  if (messages.length > 500) messages.splice(0, messages.length - 500)
}

const schedule = () => {
  if (scheduled) return
  scheduled = true
  requestAnimationFrame(() => {
    scheduled = false
    render()
  })
}

const lastProgress = (node) => {
  const m = progress.get(node)
  if (!m || m.size === 0) return undefined
  const step = Math.max(...m.keys())
  return { step, ...m.get(step) }
}

const renderSummary = () => {
  const r = record
  const eps = primaryEpsilon(r.privacy)
  const end = r.status === "running" ? Date.now() : Date.parse(r.updatedAt)
  fill(
    $("summary"),
    el("h1", {}, r.runId, " ", statusChip(r.status)),
    r.description ? el("p", { class: "description", id: "description" }, r.description) : null,
    el(
      "dl",
      { class: "facts" },
      el("dt", {}, "pipeline"), el("dd", {}, r.pipeline),
      el("dt", {}, "scale"), el("dd", {}, r.scale),
      el("dt", {}, "started"), el("dd", {}, formatTime(r.createdAt)),
      el("dt", {}, "duration"), el("dd", {}, formatDuration(end - Date.parse(r.createdAt))),
      el("dt", {}, "epsilon spent"), el("dd", { "data-epsilon": eps ? eps.value : "" }, eps ? `${formatNumber(eps.value)} (${eps.accountant}) at delta ${r.privacy.delta}, budget ${formatNumber(r.privacy.budgetEpsilon)}` : r.status === "running" ? "when the run finishes (live per-step estimate below)" : "none recorded"),
      Object.keys(r.settings).length > 0 ? [el("dt", {}, "settings"), el("dd", {}, Object.entries(r.settings).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join("  "))] : null
    )
  )
}

const renderStages = () => {
  fill($("dag"), drawDag(record))
  const rows = Object.entries(record.nodes).map(([id, n]) => {
    const p = lastProgress(id)
    const bar = p
      ? el("div", { class: "progress" }, ...(p.total > 0 ? [el("progress", { max: p.total, value: p.step })] : []), el("span", { class: "progress-text" }, `${p.total > 0 ? `${p.step}/${p.total}` : p.step} ${Object.entries(p.metrics).map(([k, v]) => `${k}=${formatNumber(v)}`).join(" ")}`))
      : null
    const telemetry = n.telemetry ? Object.entries(n.telemetry).map(([k, v]) => `${k}=${formatNumber(v)}`).join(" ") : ""
    return el(
      "tr",
      { "data-node": id, "data-status": n.status },
      el("td", {}, id),
      el("td", {}, n.stage),
      el("td", {}, statusChip(n.status), n.error ? el("div", { class: "error" }, n.error) : null),
      el("td", { class: "num" }, n.status === "cached" ? "cache hit" : formatDuration(n.durationMs)),
      el("td", {}, bar, telemetry ? el("div", { class: "telemetry" }, telemetry) : null),
      el("td", {}, el("code", {}, (n.key ?? "").slice(0, 12)))
    )
  })
  fill($("stages-body"), rows)
}

/** Stages that report a loss, in run order: their index is their colour in every chart. */
const trainers = () => Object.keys(record.nodes).filter((n) => [...(progress.get(n)?.values() ?? [])].some((v) => typeof v.metrics["loss"] === "number"))

const seriesOf = (metric) =>
  [...progress.entries()]
    .filter(([, m]) => [...m.values()].some((v) => typeof v.metrics[metric] === "number"))
    .map(([node, m]) => ({ name: node, colorIndex: trainers().includes(node) ? trainers().indexOf(node) : Object.keys(record.nodes).indexOf(node), points: [...m.entries()].filter(([, v]) => typeof v.metrics[metric] === "number").map(([step, v]) => ({ x: step, y: v.metrics[metric] })) }))
    // The colour and the order follow the stage's place in the run, the same in every chart.
    .sort((a, b) => a.colorIndex - b.colorIndex)
    .filter((s) => s.points.length > 0)

const renderCharts = () => {
  const budget = record.budget?.epsilon ?? record.privacy?.budgetEpsilon
  // A run recorded before progress events were kept (logs/events.jsonl) has none to draw.
  const emptyText = record.status === "running" ? "no points yet" : "no progress recorded for this metric"
  const charts = [
    lineChart({ emptyText, id: "loss", title: "training loss (DP and non-private)", xLabel: "step", yLabel: "loss (nats/token)", series: seriesOf("loss") }),
    lineChart({ emptyText, id: "epsilon", title: "epsilon against steps", xLabel: "step", yLabel: "epsilon", series: seriesOf("eps"), reference: budget !== undefined ? { y: budget, label: `budget ${budget}` } : undefined }),
    lineChart({ emptyText, id: "clipped", title: "clipped fraction", xLabel: "step", yLabel: "fraction clipped", series: seriesOf("clipped") }),
    lineChart({ emptyText, id: "throughput", title: "tokens per second", xLabel: "step", yLabel: "tokens/s", series: seriesOf("tok/s") })
  ]
  fill($("charts"), charts.map((c) => el("figure", { class: "chart-box" }, c)))
}

const renderPrivacy = () => {
  const r = record
  const parts = []
  if (r.privacy) {
    parts.push(el("table", { class: "kv", id: "privacy-spend" },
      el("tbody", {},
        Object.entries(r.privacy.epsilon).map(([k, v]) => el("tr", {}, el("th", {}, `epsilon (${k})`), el("td", { "data-accountant": k }, formatNumber(v)))),
        el("tr", {}, el("th", {}, "delta"), el("td", {}, String(r.privacy.delta))),
        el("tr", {}, el("th", {}, "budget epsilon"), el("td", {}, formatNumber(r.privacy.budgetEpsilon))))))
  } else if (r.budget) {
    parts.push(el("p", {}, `budget: epsilon ${r.budget.epsilon} at delta ${r.budget.delta}; the spend is computed when the run finishes.`))
  }
  if (detail) {
    parts.push(el("h3", {}, "This run's ledger"))
    parts.push(detail.ledger.length === 0
      ? el("p", { class: "note" }, "no DP events recorded")
      : el("table", { class: "ledger" },
          el("thead", {}, el("tr", {}, el("th", {}, "entry"), el("th", {}, "stage"), el("th", {}, "steps"), el("th", {}, "reused"), el("th", {}, "recorded"))),
          el("tbody", {}, detail.ledger.map((e) => el("tr", {}, el("td", {}, el("code", {}, e.id.length > 30 ? `${e.id.slice(0, 12)}…${e.id.slice(-12)}` : e.id)), el("td", {}, e.node), el("td", { class: "num" }, String(e.steps)), el("td", {}, e.reused ? "yes" : "no"), el("td", {}, formatTime(e.recordedAt)))))))
    parts.push(el("h3", {}, "Store budget per dataset"))
    parts.push(detail.storeBudget
      ? el("table", { class: "ledger", id: "store-budget" },
          el("thead", {}, el("tr", {}, el("th", {}, "dataset"), el("th", {}, "spent"), el("th", {}, "budget"), el("th", {}, "delta"))),
          el("tbody", {}, detail.storeBudget.datasets.map((d) => el("tr", {}, el("td", {}, d.dataset), el("td", { class: "num" }, formatNumber(d.spentEpsilon)), el("td", { class: "num" }, d.budgetEpsilon === null ? "none declared" : formatNumber(d.budgetEpsilon)), el("td", {}, d.delta === null ? "" : String(d.delta))))))
      : el("p", { class: "note", id: "store-budget" }, "This store keeps no store-wide budget; the spend above is this run's own."))
  }
  fill($("privacy"), parts)
  const st = detail?.statement
  if (st && st.value && typeof st.value === "object") {
    fill($("statement"), el("h3", {}, "Privacy statement ", labelBadge(st.label)),
      el("table", { class: "kv", id: "statement-table" }, el("tbody", {}, Object.entries(st.value).map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", {}, typeof v === "string" ? v : JSON.stringify(v)))))))
  } else fill($("statement"))
}

const renderArtifacts = () => {
  const rows = Object.entries(record.nodes).flatMap(([id, n]) =>
    Object.entries(n.outputs ?? {}).map(([name, o]) =>
      el("tr", { "data-node": id, "data-output": name },
        el("td", {}, id),
        el("td", {}, el("a", { href: `/runs/${encodeURIComponent(runId)}/artifacts/${encodeURIComponent(id)}/${encodeURIComponent(name)}` }, name)),
        el("td", {}, o.kind),
        el("td", {}, labelBadge(o.label)),
        el("td", { class: "num" }, o.rows !== undefined ? String(o.rows) : ""),
        el("td", { class: "num" }, `${(o.bytes / 1024).toFixed(1)} KiB`))))
  fill($("artifacts-body"), rows)
  const published = detail?.published ?? []
  fill($("published"), published.map((p) =>
    el("p", { class: "published" },
      el("a", { href: `/runs/${encodeURIComponent(runId)}/files/${encodeURIComponent(p.file)}${p.label === "private" ? "?private=1" : ""}`, "data-file": p.file, target: "_blank", rel: "noopener" },
        p.label === "private" ? `open ${p.file} (private: it shows private data)` : `open ${p.file}`),
      " ", labelBadge(p.label))))
}

const renderMessages = () => {
  fill($("messages"), messages.slice(-200).map((m) => el("li", { class: `msg msg-${m.kind}`, "data-node": m.node }, el("time", {}, formatTime(m.time)), " ", m.node ? el("b", {}, `[${m.node}] `) : null, m.text)))
}

const render = () => {
  if (!record) return
  renderSummary()
  renderStages()
  renderCharts()
  renderPrivacy()
  renderArtifacts()
  renderMessages()
  document.body.setAttribute("data-ready", "true")
}

let detailPending = false
const refreshDetail = async () => {
  if (detailPending) return
  detailPending = true
  try {
    detail = await getJson(api)
    if (!record) record = detail.run
    fill($("problem"))
  } catch (e) {
    fill($("problem"), `cannot read run ${runId}: ${e instanceof Error ? e.message : String(e)}`)
  } finally {
    detailPending = false
  }
  schedule()
}

const connect = () => {
  const source = new EventSource(`${api}/events`)
  source.addEventListener("open", () => { $("live").setAttribute("data-live", "open"); fill($("live"), "live") })
  source.addEventListener("error", () => { $("live").setAttribute("data-live", "reconnecting"); fill($("live"), "reconnecting") })
  source.addEventListener("snapshot", (m) => {
    const s = JSON.parse(m.data)
    record = s.run
    progress.clear()
    messages.length = 0
    addEvents(s.events)
    refreshDetail()
    schedule()
  })
  source.addEventListener("run", (m) => {
    const before = record ? JSON.stringify(Object.values(record.nodes).map((n) => n.status)) + record.status : ""
    record = JSON.parse(m.data)
    // The ledger, statement and published files change when a stage or the run finishes.
    if (JSON.stringify(Object.values(record.nodes).map((n) => n.status)) + record.status !== before) refreshDetail()
    schedule()
  })
  source.addEventListener("progress", (m) => {
    addEvents(JSON.parse(m.data).events)
    schedule()
  })
}

refreshDetail()
connect()
