// `npm run bench -- --heap [sockets] [--pipeline stream|handler]`: what stays reachable in our Worker's heap after
// every socket has closed, from heap snapshots taken through workerd's inspector (a snapshot runs a full GC first).
import WebSocket from "ws"
import { exchange, TEXT } from "./client.js"
import { startInspectable } from "./profile.js"
import { closeBatches, openBatches } from "./upgrades.js"

/** The objects counted by constructor name: one of each per connection, or more, while it is open. */
const COUNTED = ["FiberRuntime", "WebSocket", "MailboxImpl", "Response"]

interface Snapshot {
  readonly snapshot: { readonly meta: { readonly node_fields: string[]; readonly node_types: [string[]] } }
  readonly nodes: number[]
  readonly strings: string[]
}

/** Heap snapshot figures: total self size and the count of each counted constructor's objects. */
const figures = (heap: Snapshot) => {
  const fields = heap.snapshot.meta.node_fields
  const [typeNames] = heap.snapshot.meta.node_types
  const at = (name: string) => fields.indexOf(name)
  const [type, name, size] = [at("type"), at("name"), at("self_size")]
  const counts: Record<string, number> = Object.fromEntries(COUNTED.map((counted) => [counted, 0]))
  const bytesByKind = new Map<string, number>()
  let bytes = 0
  for (let i = 0; i < heap.nodes.length; i += fields.length) {
    const self = heap.nodes[i + size] ?? 0
    bytes += self
    const kind = typeNames[heap.nodes[i + type] ?? -1] ?? ""
    const named = heap.strings[heap.nodes[i + name] ?? -1] ?? ""
    // Objects by constructor, closures and the rest by their type: what a socket's bytes are made of.
    const key =
      kind === "object"
        ? named
        : kind === "closure"
          ? `closure ${named || "(anonymous)"}`
          : kind === "native"
            ? `native ${named}`
            : `(${kind})`
    bytesByKind.set(key, (bytesByKind.get(key) ?? 0) + self)
    if (kind !== "object") continue
    if (named in counts) counts[named] = (counts[named] ?? 0) + 1
  }
  return { figures: { heapMiB: bytes / 2 ** 20, ...counts }, bytesByKind }
}

/** The kinds of object that grew the most between two snapshots, in bytes per socket. */
const growth = (before: Map<string, number>, after: Map<string, number>, sockets: number) =>
  [...after]
    .map(([key, bytes]) => [key, (bytes - (before.get(key) ?? 0)) / sockets] as const)
    .filter(([, perSocket]) => perSocket >= 16)
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([key, perSocket]) => ({ kind: key, "B per socket": Math.round(perSocket) }))

const snapshotOf = async (inspectorPort: number): Promise<Snapshot> => {
  const [target] = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json/list`)).json()) as {
    webSocketDebuggerUrl: string
  }[]
  if (target === undefined) throw new Error("no inspector target")
  const socket = new WebSocket(target.webSocketDebuggerUrl, { maxPayload: 2 ** 30 })
  await new Promise((resolve, reject) => socket.once("open", resolve).once("error", reject))
  const chunks: Array<string> = []
  const done = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("no heap snapshot within 60 s")), 60_000)
    socket.on("message", (data) => {
      const message = JSON.parse(String(data)) as { id?: number; method?: string; params?: { chunk: string } }
      if (message.method === "HeapProfiler.addHeapSnapshotChunk") chunks.push(message.params?.chunk ?? "")
      if (message.id === 1) {
        clearTimeout(timer)
        resolve()
      }
    })
  })
  socket.send(JSON.stringify({ id: 1, method: "HeapProfiler.takeHeapSnapshot", params: { reportProgress: false } }))
  await done
  socket.close()
  return JSON.parse(chunks.join("")) as Snapshot
}

/**
 * The Workers whose heap can be measured: ours (in the given pipeline) and the plain one. A Durable Object's
 * sockets live in another isolate than the one the inspector's first target is, so the DO targets are not here.
 */
export const HEAP_TARGETS = { T3: "wrangler.toml", T2: "bench/plain/wrangler.toml" }

export const heapAfterClose = async (sockets: number, pipeline: string, target: keyof typeof HEAP_TARGETS = "T3") => {
  const { inspector, server } = await startInspectable("heap", { ECHO_PIPELINE: pipeline }, HEAP_TARGETS[target])
  try {
    const ex = exchange(TEXT, Buffer.from("0123456789abcdefghij"), "echo: ")
    // A first round builds what the isolate builds once (layers, the runtime), so the baseline holds it.
    await closeBatches((await openBatches(server.port, ex, 500, 500)).connections, 500)
    const { figures: before, bytesByKind: beforeKinds } = figures(await snapshotOf(inspector))
    const opened = await openBatches(server.port, ex, sockets, 500)
    const { figures: open, bytesByKind: openKinds } = figures(await snapshotOf(inspector))
    const { unclean } = await closeBatches(opened.connections, 500)
    // The connections' fibers end a little after their close frames; a second snapshot would show any straggler.
    await new Promise((resolve) => setTimeout(resolve, 1_000))
    const { figures: after } = figures(await snapshotOf(inspector))
    console.log(
      `heap (${target === "T3" ? `${pipeline} pipeline` : target}, ${sockets} sockets, ${opened.failures} failures, ${unclean} unclean closes)`
    )
    console.table({ before, open, "after all closed": after })
    const perSocket = (heap: { heapMiB: number }) => (((heap.heapMiB - before.heapMiB) * 2 ** 20) / sockets).toFixed(0)
    console.log(`heap per open socket: ${perSocket(open)} B; left per socket after all closed: ${perSocket(after)} B`)
    console.log("what an open socket holds, by kind (constructor, closure, or V8's node type):")
    console.table(growth(beforeKinds, openKinds, sockets))
    return { sockets, pipeline, before, open, after }
  } finally {
    await server.stop()
  }
}
