// One WebSocket per tab, multiplexing every room the page shows (PROTOCOL.md, chat.v1).
//
// Public API (pages use nothing else): start(), join(room, cursor), leave(room),
// send(room, body, clientId?, extra?), request(frame), on(type, fn) / off(type, fn), isJoined(room),
// status, reconnectNow(). Events carry the server's frames by their `type`, plus "status"
// ({connected, reconnecting, fatal}), "held" ({room, until}: a room's sends wait for the
// rate limit until `until`, a Date.now() time; `until: null` when they flow again) and
// "failed" (the error frame of a send given up on, with its `room`).
//
// Rooms: the socket remembers each joined room's cursor (highest rev applied) and, after a
// reconnect, joins each again with it, so the server replays exactly what was missed.
// Sends: one ordered queue per room. Only its head is on the wire; the next goes when the head
// is acknowledged, so messages are stored in the order they were written. A rate limit holds
// the queue until `retry_after` and then resends the same client_id (the server stores each
// client_id once, so nothing is doubled); `unavailable` is retried with backoff; any other
// refusal (`internal` included) drops that send, reported as an `error` event for the page.
// Liveness: a `ping` every heartbeat interval; a socket that answered nothing since the last
// ping is dead (a network that vanished closes nothing), and is replaced. The browser's
// `online` event and the tab becoming visible try at once instead of waiting for the backoff.

import { Close, Code } from "./codes.js";
import { limits } from "./config.js";
import { gettext } from "./i18n.js";
import { BannedError, identity, secondsLeft } from "./identity.js";

const RENEW_BEFORE = 90; // seconds before the access token expires: send `auth` with a fresh one
const HOLDING = new Set([Code.RATE_LIMITED, Code.SLOW_MODE]); // wait retry_after, resend the same
const RETRYING = new Set([Code.UNAVAILABLE]); // nothing was written: resend with backoff
const AT_ONCE = new Set([Close.AUTH, Close.GOING_AWAY, Close.SERVICE_RESTART]);

function backoff(attempt, cap = 30_000) {
  const base = Math.min(cap, 500 * 2 ** attempt);
  return base / 2 + Math.random() * (base / 2); // exponential, with jitter
}

export class ChatSocket {
  #listeners = new Map(); // type -> Set of functions(detail)
  #ws = null;
  #connecting = false;
  #connected = false;
  #fatal = null;
  #freshToken = false; // the server refused the token: refresh before the next attempt
  #attempt = 0;
  #refCounter = 0;
  #rooms = new Map(); // room id -> { cursor, joined, live }
  #queues = new Map(); // room id -> { items: [send frame], inFlight, timer, held, failures }
  #renewTimer = null;
  #reconnectTimer = null;
  #heartbeatTimer = null;
  #lastHeard = 0;
  #pingSentAt = 0;
  #heartbeat;

  constructor({ heartbeatSeconds = limits.heartbeatInterval } = {}) {
    this.#heartbeat = heartbeatSeconds * 1000;
  }

  // --- public ---------------------------------------------------------------------------------

  async start() {
    // Back online, or back to a tab (a sleeping laptop's socket may be long dead): a socket
    // that seems open is asked for a pong; one that is down is tried again at once.
    const wake = () => (this.#connected ? this.#probe() : this.reconnectNow());
    window.addEventListener("online", wake);
    document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && wake());
    await this.#connect();
  }

  get status() {
    return { connected: this.#connected, reconnecting: !this.#connected && !this.#fatal, fatal: this.#fatal };
  }

  // Try now instead of when the backoff says (the banner's "Retry now", `online`, a visible tab).
  reconnectNow() {
    if (this.#fatal || this.#connected || this.#connecting || this.#ws) return;
    clearTimeout(this.#reconnectTimer);
    this.#attempt = 0;
    this.#connect();
  }

  on(type, fn) {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type).add(fn);
  }

  off(type, fn) {
    this.#listeners.get(type)?.delete(fn);
  }

  isJoined(room) {
    return Boolean(this.#rooms.get(room)?.joined);
  }

  join(room, cursor) {
    const state = { cursor: cursor ?? null, joined: false, live: false };
    this.#rooms.set(room, state);
    this.#sendJoin(room, state);
  }

  leave(room) {
    this.#forgetRoom(room);
    this.#raw({ type: "leave", room });
  }

  // Queue a message; it goes out after every earlier send of this room is stored. `extra`:
  // more fields of the send frame (v1.1: `reply_to`, `attachments`).
  send(room, body, clientId = crypto.randomUUID(), extra = {}) {
    if (!this.#queues.has(room)) this.#queues.set(room, { items: [], inFlight: false, timer: null, held: false, failures: 0 });
    this.#queues.get(room).items.push({ ...extra, type: "send", room, body, client_id: clientId, ref: clientId });
    this.#pump(room);
    return clientId;
  }

  // A one-off frame (edit, delete, typing, read): its ref, or null when not connected.
  request(frame) {
    const ref = `r${++this.#refCounter}`;
    return this.#raw({ ...frame, ref }) ? ref : null;
  }

  // --- the connection ---------------------------------------------------------------------------

  async #connect() {
    if (this.#connecting || this.#ws) return;
    this.#connecting = true;
    let access;
    try {
      access = await identity.access({ force: this.#freshToken });
      this.#freshToken = false;
    } catch (error) {
      this.#connecting = false;
      if (error instanceof BannedError) {
        this.#down();
        this.#fatal = gettext("You are banned from this chat.");
        this.#emit("status", this.status);
        return;
      }
      this.#lost(null); // offline, or the server is down: the backoff tries again
      return;
    }
    this.#connecting = false;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    const ws = new WebSocket(`${scheme}${location.host}/ws/chat/`, ["chat.v1", `bearer.${access}`]);
    this.#ws = ws;
    // Handlers of a socket given up on (see #dead) must not touch its successor.
    ws.onopen = () => ws === this.#ws && this.#opened(access);
    ws.onmessage = (event) => ws === this.#ws && this.#received(JSON.parse(event.data));
    ws.onclose = (event) => ws === this.#ws && this.#closed(event.code);
  }

  #opened(access) {
    this.#attempt = 0;
    this.#connected = true;
    this.#lastHeard = performance.now();
    this.#pingSentAt = 0;
    clearInterval(this.#heartbeatTimer);
    this.#heartbeatTimer = setInterval(() => this.#beat(), this.#heartbeat);
    this.#emit("status", this.status);
    this.#scheduleRenewal(access);
    // Queued sends go out once their room's `joined` arrives (see #received).
    for (const [room, state] of this.#rooms) this.#sendJoin(room, state);
  }

  #closed(code) {
    this.#ws = null;
    if (code === Close.BANNED) {
      this.#down();
      identity.markBanned(); // a reload shows "banned" too, and mints nothing
      this.#fatal = gettext("You are banned from this chat.");
      this.#emit("status", this.status);
      return;
    }
    if (code === Close.AUTH) this.#freshToken = true; // never the same token again
    this.#lost(code);
  }

  // Nothing heard since the last ping: the network is gone though no close arrived.
  #beat() {
    if (!this.#connected) return;
    if (this.#pingSentAt && this.#lastHeard < this.#pingSentAt) {
      this.#dead();
      return;
    }
    this.#pingSentAt = performance.now();
    this.#raw({ type: "ping" });
  }

  // A pong (or any frame) must come within a short bound, or the socket is dead.
  #probe() {
    const sent = performance.now();
    this.#pingSentAt = sent;
    this.#raw({ type: "ping" });
    setTimeout(() => this.#connected && this.#pingSentAt === sent && this.#lastHeard < sent && this.#dead(), Math.min(this.#heartbeat, 5000));
  }

  #dead() {
    const ws = this.#ws;
    this.#ws = null; // its close may take minutes to come, and is ignored when it does
    try {
      ws?.close();
    } catch {
      /* already closing */
    }
    this.#lost(null);
  }

  #down() {
    this.#connected = false;
    clearTimeout(this.#renewTimer);
    clearInterval(this.#heartbeatTimer);
    for (const state of this.#rooms.values()) state.joined = false;
    for (const queue of this.#queues.values()) queue.inFlight = false; // resent after rejoining
  }

  // The socket is gone or could not be made: reconnect, at once if the server asked for it.
  #lost(code) {
    this.#down();
    if (this.#fatal) return;
    this.#emit("status", this.status);
    const delay = this.#attempt === 0 && AT_ONCE.has(code) ? 0 : backoff(this.#attempt);
    this.#attempt += 1;
    clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = setTimeout(() => this.#connect(), delay);
  }

  #scheduleRenewal(access) {
    clearTimeout(this.#renewTimer);
    const wait = Math.max(5, secondsLeft(access) - RENEW_BEFORE) * 1000;
    this.#renewTimer = setTimeout(async () => {
      try {
        const fresh = await identity.access({ force: true });
        this.#raw({ type: "auth", token: fresh });
        this.#scheduleRenewal(fresh);
      } catch {
        this.#scheduleRenewal(access);
      }
    }, wait);
  }

  #raw(frame) {
    if (this.#connected && this.#ws?.readyState === WebSocket.OPEN) {
      this.#ws.send(JSON.stringify(frame));
      return true;
    }
    return false;
  }

  #emit(type, detail) {
    for (const fn of this.#listeners.get(type) ?? []) fn(detail);
  }

  // --- rooms and sends --------------------------------------------------------------------------

  #sendJoin(room, state) {
    state.live = false; // until `joined`, replayed messages may skip revs
    const frame = { type: "join", room, ref: `join:${room}` };
    if (state.cursor !== null) frame.cursor = state.cursor;
    this.#raw(frame);
  }

  #forgetRoom(room) {
    this.#rooms.delete(room);
    clearTimeout(this.#queues.get(room)?.timer);
    this.#queues.delete(room);
  }

  // Put the head of a room's queue on the wire, unless it is there already or held.
  #pump(room) {
    const queue = this.#queues.get(room);
    if (!queue || queue.inFlight || queue.timer || !queue.items.length || !this.isJoined(room)) return;
    queue.inFlight = this.#raw(queue.items[0]);
  }

  #acked(frame) {
    const room = frame.message.room;
    const queue = this.#queues.get(room);
    if (queue?.items[0]?.client_id !== frame.client_id) return;
    queue.items.shift();
    queue.inFlight = false;
    queue.failures = 0;
    this.#flowing(room, queue);
    this.#pump(room);
  }

  #flowing(room, queue) {
    if (!queue.held) return;
    queue.held = false;
    this.#emit("held", { room, until: null });
  }

  // A refused send: held (rate limit), retried (unavailable) or dropped (anything else).
  #refused(frame) {
    const entry = [...this.#queues].find(([, queue]) => queue.inFlight && queue.items[0]?.ref === frame.ref);
    if (!entry) return;
    const [room, queue] = entry;
    queue.inFlight = false;
    const later = (delay) => {
      queue.timer = setTimeout(() => {
        queue.timer = null;
        this.#pump(room);
      }, delay);
    };
    if (HOLDING.has(frame.code)) {
      const delay = (frame.retry_after || 1) * 1000;
      queue.held = true;
      this.#emit("held", { room, until: Date.now() + delay });
      later(delay);
    } else if (RETRYING.has(frame.code)) {
      queue.failures += 1;
      later(frame.retry_after ? frame.retry_after * 1000 : backoff(queue.failures, 10_000));
    } else {
      queue.items.shift(); // a fault no resend cures: the page shows it; the rest go on
      this.#emit("failed", { ...frame, room });
      this.#flowing(room, queue);
      this.#pump(room);
    }
  }

  // --- from the server ------------------------------------------------------------------------

  #received(frame) {
    this.#lastHeard = performance.now();
    switch (frame.type) {
      case "message":
        this.#trackRev(frame.message);
        break;
      case "ack":
        this.#acked(frame);
        break;
      case "joined": {
        const state = this.#rooms.get(frame.room);
        if (state) {
          state.cursor = Math.max(state.cursor ?? 0, frame.cursor);
          state.joined = true;
          state.live = true;
          this.#pump(frame.room);
        }
        break;
      }
      case "reset": {
        const state = this.#rooms.get(frame.room);
        if (state) state.cursor = frame.cursor;
        break;
      }
      case "removed":
        this.#forgetRoom(frame.room);
        break;
      case "error": {
        if (frame.ref) this.#refused(frame);
        // A join or sync the server could not serve right now (unavailable), or not yet (a
        // replay limit: rate_limited with retry_after): ask again then.
        const room = frame.ref?.startsWith("join:") ? Number(frame.ref.slice(5)) : null;
        const state = room !== null ? this.#rooms.get(room) : null;
        if (state && (RETRYING.has(frame.code) || HOLDING.has(frame.code))) {
          const delay = (frame.retry_after || 1) * 1000;
          setTimeout(() => this.#rooms.get(room) === state && this.#sendJoin(room, state), delay);
        }
        break;
      }
      default:
    }
    this.#emit(frame.type, frame);
  }

  // The cursor moves only along an unbroken stream: in-order live frames, or a whole replay
  // once its `joined` arrives. Frames seen during a replay are shown but not counted, so a
  // socket lost mid-replay rejoins from before the hole rather than past it.
  #trackRev(message) {
    const state = this.#rooms.get(message.room);
    if (!state || !state.live || state.cursor === null) return;
    if (message.rev > state.cursor + 1) {
      // Missed something: ask from where the stream was whole; `joined` ends the replay.
      state.live = false;
      this.#raw({ type: "sync", room: message.room, cursor: state.cursor, ref: `join:${message.room}` });
      return;
    }
    state.cursor = Math.max(state.cursor, message.rev);
  }
}
