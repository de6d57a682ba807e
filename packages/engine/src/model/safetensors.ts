/**
 * The safetensors file format (Hugging Face's safetensors, README "Format"), float32 only:
 *
 *   bytes 0..8     N, the header's length: unsigned 64-bit little-endian
 *   bytes 8..8+N   a UTF-8 JSON object: for every tensor
 *                    name: { dtype: "F32", shape: [..], data_offsets: [begin, end] }
 *                  and optionally "__metadata__": { string: string };
 *                  padded with spaces to a multiple of 8 bytes (so the data is aligned)
 *   the rest       the tensors' bytes, row-major, little-endian, at [begin, end) relative
 *                  to the end of the header; the buffer is covered exactly (no holes, no
 *                  overlaps)
 *
 * Written here rather than taken from npm: no maintained writer is published there, and
 * the format is the 8-byte length, one JSON object and the raw arrays. The reader exists
 * for round-trip tests and for importing float32 checkpoints; it checks every rule above.
 */
import { Schema } from "effect"

export class SafetensorsError extends Schema.TaggedError<SafetensorsError>()("SafetensorsError", {
  message: Schema.String
}) {}

/** One float32 tensor: its name, shape and row-major values. */
export interface F32Tensor {
  readonly name: string
  readonly shape: ReadonlyArray<number>
  readonly data: Float32Array
}

const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0))

/** A tensor's entry in the header. */
export const SafetensorsEntry = Schema.Struct({
  dtype: Schema.String,
  shape: Schema.Array(NonNegativeInt),
  data_offsets: Schema.Tuple([NonNegativeInt, NonNegativeInt])
})
export type SafetensorsEntry = typeof SafetensorsEntry.Type

/** The header without its `__metadata__`. */
const Entries = Schema.Record(Schema.String, SafetensorsEntry)
const Metadata = Schema.Record(Schema.String, Schema.String)

const METADATA_KEY = "__metadata__"
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

const f32Bytes = (data: Float32Array): Uint8Array => {
  if (littleEndian) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
  const out = new Uint8Array(data.byteLength)
  const view = new DataView(out.buffer)
  for (let i = 0; i < data.length; i++) view.setFloat32(4 * i, data[i] as number, true)
  return out
}

const fail = (message: string): never => {
  throw new SafetensorsError({ message })
}

/**
 * Encodes float32 tensors (in the given order) with string metadata as one safetensors file.
 *
 * @throws SafetensorsError on a duplicate name, the reserved name `__metadata__`, or a
 *   shape whose size is not the data's length
 */
export const encodeSafetensors = (tensors: ReadonlyArray<F32Tensor>, metadata: Readonly<Record<string, string>> = {}): Uint8Array => {
  const header: Record<string, unknown> = {}
  if (Object.keys(metadata).length > 0) header[METADATA_KEY] = metadata
  let offset = 0
  for (const t of tensors) {
    if (t.name === METADATA_KEY) fail(`a tensor may not be named ${METADATA_KEY}`)
    if (t.name in header) fail(`tensor "${t.name}" is given twice`)
    const size = t.shape.reduce((a, b) => a * b, 1)
    if (size !== t.data.length) fail(`tensor "${t.name}": shape [${t.shape.join(", ")}] holds ${size} values but its data has ${t.data.length}`)
    header[t.name] = { dtype: "F32", shape: [...t.shape], data_offsets: [offset, offset + 4 * size] }
    offset += 4 * size
  }
  const json = new TextEncoder().encode(JSON.stringify(header))
  const padded = Math.ceil(json.length / 8) * 8
  const out = new Uint8Array(8 + padded + offset)
  new DataView(out.buffer).setBigUint64(0, BigInt(padded), true)
  out.set(json, 8)
  out.fill(0x20, 8 + json.length, 8 + padded)
  let at = 8 + padded
  for (const t of tensors) {
    out.set(f32Bytes(t.data), at)
    at += t.data.byteLength
  }
  return out
}

/** A decoded file: tensors in data order, and the metadata. */
export interface Safetensors {
  readonly tensors: ReadonlyArray<F32Tensor>
  readonly metadata: Readonly<Record<string, string>>
}

/**
 * Decodes a safetensors file of F32 tensors.
 *
 * @throws SafetensorsError when the bytes break the format or hold another dtype
 */
export const decodeSafetensors = (bytes: Uint8Array): Safetensors => {
  if (bytes.length < 8) fail(`the file has ${bytes.length} bytes, fewer than the 8-byte header length`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const n = view.getBigUint64(0, true)
  if (n > BigInt(bytes.length - 8)) fail(`the header length ${n} exceeds the file's ${bytes.length - 8} bytes after it`)
  const headerEnd = 8 + Number(n)
  let parsed: unknown
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, headerEnd)))
  } catch (e) {
    return fail(`the header is not UTF-8 JSON: ${String(e)}`)
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) return fail("the header is not a JSON object")
  const { [METADATA_KEY]: rawMetadata, ...rawEntries } = parsed as Record<string, unknown>
  const metadata = Schema.decodeUnknownResult(Metadata)(rawMetadata ?? {})
  if (metadata._tag === "Failure") return fail(`${METADATA_KEY} must map strings to strings: ${String(metadata.failure)}`)
  const entries = Schema.decodeUnknownResult(Entries)(rawEntries)
  if (entries._tag === "Failure") return fail(`a tensor entry is malformed: ${String(entries.failure)}`)
  const dataLength = bytes.length - headerEnd
  const sorted = Object.entries(entries.success).sort(([, a], [, b]) => a.data_offsets[0] - b.data_offsets[0])
  let expected = 0
  const tensors = sorted.map(([name, e]): F32Tensor => {
    const [begin, end] = e.data_offsets
    if (e.dtype !== "F32") fail(`tensor "${name}" is ${e.dtype}; only F32 is read`)
    if (begin !== expected) fail(`tensor "${name}" starts at byte ${begin}, expected ${expected}: the data has a hole or an overlap`)
    const size = e.shape.reduce((a, b) => a * b, 1)
    if (end - begin !== 4 * size) fail(`tensor "${name}": shape [${e.shape.join(", ")}] needs ${4 * size} bytes, its offsets span ${end - begin}`)
    if (end > dataLength) fail(`tensor "${name}" ends at byte ${end}, past the data's ${dataLength} bytes`)
    expected = end
    const data = new Float32Array(size)
    const at = headerEnd + begin
    for (let i = 0; i < size; i++) data[i] = view.getFloat32(at + 4 * i, true)
    return { name, shape: e.shape, data }
  })
  if (expected !== dataLength) fail(`the tensors cover ${expected} of the ${dataLength} data bytes`)
  return { tensors, metadata: metadata.success }
}
