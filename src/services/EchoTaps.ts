import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Layer from "effect/Layer"
import { TapFull, TapUnavailable } from "../domain/HttpError.js"
import type { TapEvent } from "../domain/TapEvent.js"

/**
 * What the Worker and the rooms call on a tap's Durable Object (`EchoTap`), by RPC. Declared here, not imported
 * from the object's module, so that services do not depend on the runtime's code.
 */
export interface TapObject {
  /** Takes a tapped socket (`slot`) unless the tap already taps `limit`; forgotten after `staleMs` of silence. */
  admit(slot: string, limit: number, staleMs: number): Promise<boolean>
  /** Appends a socket's events to the history and sends them to every watcher, in order. */
  publish(slot: string, events: ReadonlyArray<TapEvent>): Promise<void>
  /** The history as a JSON array, oldest first. */
  history(): Promise<string>
  fetch(url: string, init: RequestInit): Promise<Response>
}

/** The request header that tells a tap the subprotocol agreed with a watcher. */
export const WATCHER_PROTOCOL_HEADER = "x-echo-tap-protocol"

/** A tap's Durable Object, by name. */
export const tapObject = (namespace: DurableObjectNamespace, name: string): TapObject =>
  namespace.get(namespace.idFromName(name)) as unknown as TapObject

/**
 * One tapped socket's way to its tap: each step's events go in one call, after the previous call is done, so the
 * tap receives them in order. The echo never waits for it: a call that fails is reported once (`onFailure`) and
 * the events that follow are still sent. Create it in the socket's own request (a stub belongs to it).
 */
export class TapLine {
  private chain: Promise<void> = Promise.resolve()
  private failed = false

  constructor(
    private readonly tap: TapObject,
    private readonly slot: string,
    private readonly onFailure: (cause: unknown) => void
  ) {}

  publish(events: ReadonlyArray<TapEvent>): void {
    if (events.length === 0) return
    this.chain = this.chain.then(() =>
      this.tap.publish(this.slot, events).catch((cause: unknown) => {
        if (this.failed) return
        this.failed = true
        this.onFailure(cause)
      })
    )
  }

  /** Settles once every event published so far has reached the tap (or failed to): what `waitUntil` waits for. */
  drained(): Promise<void> {
    return this.chain
  }
}

/** How long a tapped socket may stay silent before its tap forgets it: it has ended unseen (a crash, a restart). */
export const staleAfterMs = (idleTimeoutMs: number, closeTimeoutMs: number): number =>
  idleTimeoutMs > 0 ? idleTimeoutMs + 2 * closeTimeoutMs : 86_400_000

/** The Durable Object namespace of the taps, as a service: what `?tap=NAME` and `/tap/NAME` reach. */
export class EchoTaps extends Context.Tag("websocket-echo/EchoTaps")<
  EchoTaps,
  {
    /**
     * Takes a tapped socket in tap `name` before its upgrade: `TapFull` when the tap already taps `limit` sockets,
     * `TapUnavailable` when its object cannot be reached.
     */
    readonly admit: (
      name: string,
      slot: string,
      limit: number,
      staleMs: number
    ) => Effect.Effect<void, TapFull | TapUnavailable>
    /** The way of an admitted socket's events to tap `name`, created in the socket's request. */
    readonly line: (name: string, slot: string, onFailure: (cause: unknown) => void) => TapLine
    /** A watcher's upgrade, answered by the tap: its 101, or 503 `TAP_FULL`. */
    readonly watch: (
      request: Request,
      name: string,
      protocol: string | undefined
    ) => Effect.Effect<Response, TapUnavailable>
    /** The tap's history, as a JSON array. */
    readonly history: (name: string) => Effect.Effect<string, TapUnavailable>
  }
>() {
  /** The taps of a Durable Object namespace binding (the `EchoTap` class). */
  static readonly layer = (namespace: DurableObjectNamespace): Layer.Layer<EchoTaps> =>
    Layer.succeed(EchoTaps, tapsOf(namespace))
}

/** The service of a namespace binding, as a value: what `EchoTaps.layer` provides. */
export const tapsOf = (namespace: DurableObjectNamespace): Context.Tag.Service<EchoTaps> => ({
  admit: (name, slot, limit, staleMs) =>
    Effect.flatMap(
      Effect.tryPromise({
        try: () => tapObject(namespace, name).admit(slot, limit, staleMs),
        catch: (cause) => new TapUnavailable({ cause })
      }),
      (admitted) => (admitted ? Effect.void : Effect.fail(new TapFull({ tap: name, of: "sockets", limit })))
    ),
  line: (name, slot, onFailure) => new TapLine(tapObject(namespace, name), slot, onFailure),
  watch: (request, name, protocol) =>
    Effect.tryPromise({
      try: () =>
        tapObject(namespace, name).fetch(request.url, {
          // The runtime passes a 101 with a WebSocket on only to a request that asked for an upgrade.
          headers:
            protocol === undefined
              ? { upgrade: "websocket" }
              : { upgrade: "websocket", [WATCHER_PROTOCOL_HEADER]: protocol }
        }),
      catch: (cause) => new TapUnavailable({ cause })
    }),
  history: (name) =>
    Effect.tryPromise({
      try: () => tapObject(namespace, name).history(),
      catch: (cause) => new TapUnavailable({ cause })
    })
})
