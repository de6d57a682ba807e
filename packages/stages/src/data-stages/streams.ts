/**
 * Helpers shared by the data stages: turning the data library's errors into
 * StageFailed, and its (synchronous, throwing) generators into Streams that fail
 * with StageFailed instead of throwing inside the runtime's writer.
 */
import { Effect, Stream } from "effect"
import { type ArtifactReadError, StageFailed } from "@dpipe/dsl"

/** The message of any thrown value. */
export const messageOf = (e: unknown): string =>
  e instanceof Error ? e.message : typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e)

/** A StageFailed carrying the error's own message (the library's errors say what to fix). */
export const stageFailed = (e: unknown): StageFailed => (e instanceof StageFailed ? e : new StageFailed({ message: messageOf(e) }))

/** Runs a synchronous library call, turning what it throws into StageFailed. */
export const attempt = <A>(f: () => A): Effect.Effect<A, StageFailed> => Effect.try({ try: f, catch: stageFailed })

/** Reading an input table failed: say which stage input. */
export const inputFailed = (stage: string, input: string) => (e: ArtifactReadError): StageFailed =>
  new StageFailed({ message: `${stage}: reading input ${input} failed (${e.path}): ${e.message}` })

async function* chunksOf<A>(make: () => Iterable<A>, size: number): AsyncGenerator<Array<A>> {
  let chunk: Array<A> = []
  for (const a of make()) {
    chunk.push(a)
    if (chunk.length >= size) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}

/**
 * A Stream over a lazily created, possibly throwing iterable, in chunks of `size`
 * (one async step per chunk, so the scheduler gets control between chunks). What the
 * iterable throws becomes StageFailed with the error's message.
 */
export const guardedStream = <A>(make: () => Iterable<A>, size = 256): Stream.Stream<Array<A>, StageFailed> =>
  Stream.suspend(() => Stream.fromAsyncIterable(chunksOf(make, size), stageFailed))
