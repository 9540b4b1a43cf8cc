import { DurableObject } from "cloudflare:workers"
import { closeReply } from "../domain/CloseFrame.js"
import { errorResponse, TapFull } from "../domain/HttpError.js"
import { byteLength } from "../domain/Message.js"
import { excess, MAX_TAP_WATCHERS, type TapEntry, type TapEvent } from "../domain/TapEvent.js"
import { WATCHER_PROTOCOL_HEADER } from "../services/EchoTaps.js"
import { socketPair } from "../services/WebSocketService.js"

interface StoredEntry extends TapEntry {
  readonly seq: number
}

/**
 * A tap (`/echo?tap=NAME`, `GET /tap/NAME`) as a hibernating Durable Object, one per name: tapped sockets publish
 * their events to it (one call per step of their machine, in order), and it keeps the last `MAX_TAP_EVENTS` of
 * them (at most `MAX_TAP_HISTORY_BYTES`) in its SQLite storage, so the history survives hibernation, and sends each
 * to its watchers: hibernatable sockets, at most `MAX_TAP_WATCHERS`, which get the history first. A watcher's own
 * messages are ignored. It sets no timer, so it hibernates whenever nothing is published.
 *
 * It also counts the sockets it taps (`admit`, against `MAX_ROOM_SOCKETS`): each is a slot, kept until its `end`
 * event, or until it has been silent for longer than it could be alive (a socket that ended unseen).
 */
export class EchoTap extends DurableObject<Env> {
  /** The history, oldest first, read from storage on first use in this instance. */
  private entries: Array<StoredEntry> | undefined
  private bytes = 0

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env)
    const sql = ctx.storage.sql
    sql.exec("CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY, json TEXT NOT NULL)")
    sql.exec(
      "CREATE TABLE IF NOT EXISTS slots (slot TEXT PRIMARY KEY, expires INTEGER NOT NULL, stale INTEGER NOT NULL)"
    )
  }

  /** Takes a tapped socket unless `limit` are tapped already; sockets silent past their `staleMs` are forgotten. */
  admit(slot: string, limit: number, staleMs: number): boolean {
    const sql = this.ctx.storage.sql
    const now = Date.now()
    sql.exec("DELETE FROM slots WHERE expires < ?", now)
    const count = sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM slots").one().n
    if (count >= limit) return false
    sql.exec("INSERT OR REPLACE INTO slots (slot, expires, stale) VALUES (?, ?, ?)", slot, now + staleMs, staleMs)
    return true
  }

  /** A socket's events, in order: kept in the history, and sent to every watcher. */
  publish(slot: string, events: ReadonlyArray<TapEvent>): void {
    const sql = this.ctx.storage.sql
    const entries = this.history_()
    const watchers = this.ctx.getWebSockets()
    let ended = false
    for (const event of events) {
      const json = JSON.stringify(event)
      const bytes = byteLength(json)
      const seq = (entries[entries.length - 1]?.seq ?? 0) + 1
      sql.exec("INSERT INTO events (seq, json) VALUES (?, ?)", seq, json)
      entries.push({ seq, json, bytes })
      this.bytes += bytes
      if (event.type === "end") ended = true
      for (const watcher of watchers) {
        try {
          watcher.send(json)
        } catch {
          // A watcher that is closing gets its own close event; the others still get the event.
        }
      }
    }
    const drop = excess(entries, this.bytes)
    if (drop > 0) {
      const gone = entries.splice(0, drop)
      for (const entry of gone) this.bytes -= entry.bytes
      sql.exec("DELETE FROM events WHERE seq <= ?", (gone[gone.length - 1] as StoredEntry).seq)
    }
    if (ended) sql.exec("DELETE FROM slots WHERE slot = ?", slot)
    else sql.exec("UPDATE slots SET expires = ? + stale WHERE slot = ?", Date.now(), slot)
  }

  /** The history as a JSON array, oldest first. */
  history(): string {
    return `[${this.history_()
      .map((entry) => entry.json)
      .join(",")}]`
  }

  /** A watcher's upgrade (checked by the Worker): 503 `TAP_FULL` past `MAX_TAP_WATCHERS`, else the history. */
  override fetch(request: Request): Response {
    if (this.ctx.getWebSockets().length >= MAX_TAP_WATCHERS) {
      const name = decodeURIComponent(new URL(request.url).pathname.split("/").pop() ?? "")
      return errorResponse(new TapFull({ tap: name, of: "watchers", limit: MAX_TAP_WATCHERS }))
    }
    const { server, response } = socketPair(request.headers.get(WATCHER_PROTOCOL_HEADER) ?? undefined)
    this.ctx.acceptWebSocket(server)
    for (const entry of this.history_()) server.send(entry.json)
    return response
  }

  /** A watcher's messages are ignored. */
  override webSocketMessage(): void {}

  /** A watcher's close is answered (before 2026-04-07 the runtime does not answer it). */
  override webSocketClose(ws: WebSocket, code: number, reason: string): void {
    const reply = closeReply({ code, reason })
    try {
      if (reply === undefined) ws.close()
      else ws.close(reply.code, reply.reason)
    } catch {
      // Closed already: nothing to answer.
    }
  }

  override webSocketError(): void {}

  private history_(): Array<StoredEntry> {
    if (this.entries === undefined) {
      this.entries = this.ctx.storage.sql
        .exec<{ seq: number; json: string }>("SELECT seq, json FROM events ORDER BY seq")
        .toArray()
        .map(({ seq, json }) => ({ seq, json, bytes: byteLength(json) }))
      this.bytes = this.entries.reduce((total, entry) => total + entry.bytes, 0)
    }
    return this.entries
  }
}
