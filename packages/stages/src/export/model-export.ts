/**
 * The model export behind `pipeline export` (the composition root passes it to the
 * runtime's CLI): finds what belongs with a trained model in a finished run and turns
 * it into the files of a format.
 *
 * For the training node N (default dp-train):
 * - N's `weights` and `model` outputs;
 * - the tokenizer N was trained with: the run's output whose content hash is N's
 *   `tokenizer` input (inputs are keyed by content, so this is that exact file);
 * - the privacy statement: the output of a `privacy-statement` node whose `plan` input
 *   is N's `plan` output; and N's plan itself.
 * Every read goes through the runtime's reader, which refuses private artifacts without
 * --private; the export's label is the join of what was read.
 */
import { Effect, Result, Schema } from "effect"
import { Privacy } from "@dpipe/dsl"
import { decodeModelConfig, paramLayout, type ModelConfig } from "@dpipe/engine/model/gemma"
import { fromTokenizerJson } from "@dpipe/data/tokenizer/hf-json"
import { BpeTokenizer } from "@dpipe/data/tokenizer/encoder"
import { PrivacyStatement } from "@dpipe/stages/report-stages/schemas"
import { hfExportFiles } from "./hf-files.ts"
import { ModelExportError, type ExportSource, type SourceNode } from "./source.ts"

const messageOf = (e: unknown): string =>
  typeof e === "object" && e !== null && "message" in e && typeof e.message === "string" && e.message !== "" ? e.message : String(e)

const fail = (message: string) => new ModelExportError({ message })

const decodeJson = (bytes: Uint8Array): unknown => JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes))

const isTrainingNode = (n: SourceNode): boolean => n.outputs["weights"]?.kind === "tensors" && n.outputs["model"]?.kind === "json"

const findModelNode = (source: ExportSource, id: string) =>
  Effect.gen(function* () {
    const trained = source.nodes.filter(isTrainingNode).map((n) => n.id)
    const node = source.nodes.find((n) => n.id === id)
    if (node === undefined) {
      return yield* fail(`Run ${source.runId} has no finished stage "${id}". Finished training stages: ${trained.join(", ") || "none (finish the run with `pnpm pipeline resume`)"}; pick one with --stage.`)
    }
    if (!isTrainingNode(node)) {
      return yield* fail(`Stage ${id} of run ${source.runId} (${node.stage}) holds no trained model (no weights and model outputs). Training stages of this run: ${trained.join(", ") || "none"}; pick one with --stage.`)
    }
    return node
  })

/** The flat parameter vector of a weights artifact, checked against the model config. */
const flatParams = (model: ModelConfig, tensors: Readonly<Record<string, { readonly dtype: string; readonly data: Float32Array | Int32Array }>>) =>
  Effect.suspend(() => {
    const layout = paramLayout(model)
    const flat = new Float32Array(layout.reduce((a, s) => a + s.size, 0))
    for (const s of layout) {
      const t = tensors[s.name]
      if (t === undefined || !(t.data instanceof Float32Array) || t.data.length !== s.size) {
        return Effect.fail(fail(`the weights do not match the model config at tensor "${s.name}" (expected float32 ${s.shape.join("x")}): the stage's outputs are inconsistent; re-run it`))
      }
      flat.set(t.data, s.offset)
    }
    return Effect.succeed(flat)
  })

const exportHf = Effect.fn("exportHf")(function* (source: ExportSource, stage: string) {
  const node = yield* findModelNode(source, stage)
  // Weights first: a refusal names the output that matters.
  const weights = yield* source.readTensors(node.id, "weights")
  const modelBytes = yield* source.read(node.id, "model")
  const model = yield* Effect.try({ try: () => decodeModelConfig(decodeJson(modelBytes.bytes)), catch: (e) => fail(`stage ${node.id}'s model config is not valid: ${messageOf(e)}`) })
  const params = yield* flatParams(model, weights.tensors)

  // The tokenizer the model was trained with, by content hash.
  const tokenizerHash = node.inputs["tokenizer"]
  const tokenizerAt = source.nodes.flatMap((n) => Object.entries(n.outputs).filter(([, o]) => o.hash === tokenizerHash).map(([output]) => ({ node: n.id, output })))[0]
  if (tokenizerHash === undefined || tokenizerAt === undefined) {
    return yield* fail(`stage ${node.id} of run ${source.runId} was trained with a tokenizer no finished stage of the run produced; an export needs the tokenizer: re-run the pipeline so that its tokenizer stage is in the run.`)
  }
  const tokenizerFile = yield* source.read(tokenizerAt.node, tokenizerAt.output)
  const tokenizer = yield* Effect.try({
    try: () => new BpeTokenizer(fromTokenizerJson(new TextDecoder("utf-8", { fatal: true }).decode(tokenizerFile.bytes))),
    catch: (e) => fail(`the tokenizer of stage ${node.id} is not a usable tokenizer.json: ${messageOf(e)}`)
  })
  if (tokenizer.vocabSize !== model.vocabSize) {
    return yield* fail(`the tokenizer has ${tokenizer.vocabSize} tokens but the model's vocabulary is ${model.vocabSize}: the run's artifacts are inconsistent; re-run it`)
  }

  // The training plan and the privacy statement made from it, if the run has one.
  const plan = yield* source.read(node.id, "plan")
  const planHash = node.outputs["plan"]?.hash
  const statementNode = source.nodes.find((n) => n.stage === "privacy-statement" && planHash !== undefined && n.inputs["plan"] === planHash)
  let statement: PrivacyStatement | undefined
  let statementLabel: Privacy.PrivacyLabel = "public"
  if (statementNode !== undefined) {
    const s = yield* source.read(statementNode.id, "statement")
    const decoded = Schema.decodeUnknownResult(PrivacyStatement)(yield* Effect.try({ try: () => decodeJson(s.bytes), catch: (e) => fail(`statement.json is not JSON: ${messageOf(e)}`) }))
    if (Result.isFailure(decoded)) return yield* fail(`the privacy statement of stage ${statementNode.id} does not decode: ${String(decoded.failure)}`)
    statement = decoded.success
    statementLabel = s.label
  }
  const label = [modelBytes.label, weights.label, tokenizerFile.label, plan.label, statementLabel].reduce(Privacy.joinLabels)
  const trainingPlan = yield* Effect.try({ try: () => decodeJson(plan.bytes), catch: (e) => fail(`stage ${node.id}'s plan is not JSON: ${messageOf(e)}`) })
  const parts = {
    source: { run: source.runId, pipeline: source.pipeline, scale: source.scale, node: node.id, stage: node.stage },
    model,
    params,
    tokenizerJson: tokenizerFile.bytes,
    tokens: { padId: tokenizer.padId, eosId: tokenizer.eosId, pad: tokenizer.model.tokens[tokenizer.padId] ?? "<pad>", eos: tokenizer.model.tokens[tokenizer.eosId] ?? "<eos>" },
    label,
    dpTrained: weights.label === "dp",
    statement,
    trainingPlan
  }
  const files = yield* Effect.try({ try: () => hfExportFiles(parts), catch: (e) => fail(`writing the hf files of stage ${node.id}: ${messageOf(e)}`) })
  return {
    files,
    label,
    summary: `Gemma ${model.layers} layer(s), d=${model.dModel}, ${model.heads}x${model.headDim} heads (${model.kvHeads} kv), vocabulary ${model.vocabSize}, ${params.length} parameters${statement !== undefined ? `, epsilon ${statement.epsilon.toFixed(3)} at delta ${statement.delta}` : ""}`
  }
})

/** The `ModelExportApi` the composition root gives the CLI. */
export const modelExportApi = {
  formats: {
    hf: "a Hugging Face transformers Gemma directory (config.json, model.safetensors float32, tokenizer.json, privacy.json, README.md)"
  } as Readonly<Record<string, string>>,
  defaultStage: "dp-train",
  build: (source: ExportSource, request: { readonly stage: string; readonly format: string }) =>
    request.format === "hf" ? exportHf(source, request.stage) : Effect.fail(fail(`unknown format ${JSON.stringify(request.format)}; the formats are: hf`))
}
