// Who this browser is: a JWT pair in localStorage, minted as a guest on the first visit.
// A reload, a new tab or a visit next week is the same person. An access token about to
// expire is refreshed first; a refresh token that no longer works is replaced by a new guest.
// Refreshing is serialized across tabs (Web Locks) because a refresh token works only once.
// A new guest costs a proof-of-work puzzle, solved in a Web Worker (pow-worker.js) while the
// page shows progress. A banned identity is remembered ("chat.banned"): the page says so and
// never mints itself a replacement (a guest's ban also bars its address from minting).

import { Code } from "./codes.js";
import { gettext } from "./i18n.js";

// chat.username: the account name typed when claiming or logging in (the API's user object
// carries only the nickname#tag), shown in the header.
const KEYS = { access: "chat.access", refresh: "chat.refresh", user: "chat.user", username: "chat.username" };
const BANNED = "chat.banned";
const EARLY = 60; // seconds before expiry at which an access token counts as expired

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
    this.detail = (body && body.detail) || this.message;
    this.body = body;
  }
}

// This identity (or this address) is banned: nothing here mints a new one by itself.
export class BannedError extends Error {
  constructor(detail) {
    super(detail || gettext("This identity is banned."));
    this.code = Code.BANNED;
    this.detail = this.message;
  }
}

// Find the nonce in a worker; `onProgress(fraction)` as it goes (an estimate: the expected
// number of tries is 2^bits).
export function solveChallenge({ challenge, bits }, onProgress = () => {}) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./pow-worker.js", import.meta.url));
    worker.onmessage = ({ data }) => {
      onProgress(Math.min(0.99, data.tried / data.expected));
      if (data.nonce !== undefined) {
        worker.terminate();
        onProgress(1);
        resolve(data.nonce);
      }
    };
    worker.onerror = (event) => {
      worker.terminate();
      reject(new Error(event.message || gettext("The puzzle could not be solved here.")));
    };
    worker.postMessage({ challenge, bits });
  });
}

function claims(token) {
  try {
    const part = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(part));
  } catch {
    return null;
  }
}

export function secondsLeft(token) {
  const payload = token && claims(token);
  return payload ? payload.exp - Date.now() / 1000 : -Infinity;
}

async function withLock(fn) {
  if (navigator.locks) return navigator.locks.request("chat.identity", fn);
  return fn();
}

async function rawJSON(method, path, body, access) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (access) headers.Authorization = `Bearer ${access}`;
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

class Identity extends EventTarget {
  get user() {
    const raw = localStorage.getItem(KEYS.user);
    return raw ? JSON.parse(raw) : null;
  }

  get username() {
    return localStorage.getItem(KEYS.username);
  }

  store({ access, refresh, user }) {
    if (access) localStorage.setItem(KEYS.access, access);
    if (refresh) localStorage.setItem(KEYS.refresh, refresh);
    if (user) localStorage.setItem(KEYS.user, JSON.stringify(user));
  }

  clear() {
    Object.values(KEYS).forEach((key) => localStorage.removeItem(key));
  }

  get banned() {
    return localStorage.getItem(BANNED) !== null;
  }

  markBanned() {
    localStorage.setItem(BANNED, "1");
    this.dispatchEvent(new Event("banned"));
  }

  // A new guest: solve the server's puzzle (progress as "minting" events), then mint. A
  // puzzle that went stale meanwhile is answered with a fresh one, solved in turn.
  async mintGuest() {
    if (this.banned) throw new BannedError();
    let puzzle = await rawJSON("GET", "/api/auth/challenge/");
    for (let attempt = 0; ; attempt++) {
      const progress = (fraction) => this.dispatchEvent(new CustomEvent("minting", { detail: { fraction, bits: puzzle.bits } }));
      const body = puzzle.bits > 0 ? { challenge: puzzle.challenge, nonce: await solveChallenge(puzzle, progress) } : {};
      try {
        const data = await rawJSON("POST", "/api/auth/guest/", body);
        this.dispatchEvent(new CustomEvent("minting", { detail: { fraction: null } }));
        this.store(data);
        this.dispatchEvent(new Event("changed"));
        return data.access;
      } catch (error) {
        if (error.code === Code.BANNED) {
          this.markBanned();
          throw new BannedError(error.detail);
        }
        if (error.code !== Code.POW_REQUIRED || attempt >= 2) throw error;
        puzzle = { challenge: error.body.challenge, bits: error.body.bits };
      }
    }
  }

  // A usable access token: stored, refreshed, or (first visit / dead refresh) a new guest.
  async access({ force = false } = {}) {
    const stored = localStorage.getItem(KEYS.access);
    if (!force && secondsLeft(stored) > EARLY) return stored;
    return withLock(async () => {
      const current = localStorage.getItem(KEYS.access);
      if (current && current !== stored && secondsLeft(current) > EARLY) return current; // another tab did it
      const refresh = localStorage.getItem(KEYS.refresh);
      if (!refresh) return this.mintGuest();
      try {
        const data = await rawJSON("POST", "/api/auth/refresh/", { refresh });
        this.store(data);
        localStorage.removeItem(BANNED); // the ban was lifted
        return data.access;
      } catch (error) {
        if (error instanceof ApiError && error.code === Code.BANNED) {
          this.markBanned();
          throw new BannedError(error.detail);
        }
        if (error instanceof ApiError && error.status === 401) {
          this.clear();
          return this.mintGuest();
        }
        throw error;
      }
    });
  }

  // JSON over HTTP as this user: a 401 refreshes the token and retries once.
  async api(method, path, body) {
    const token = await this.access();
    try {
      return await rawJSON(method, path, body, token);
    } catch (error) {
      if (!(error instanceof ApiError) || error.status !== 401) throw error;
      return rawJSON(method, path, body, await this.access({ force: true }));
    }
  }

  async me() {
    const user = await this.api("GET", "/api/me/");
    this.store({ user });
    localStorage.removeItem(BANNED); // an active user: whatever ban there was is lifted
    return user;
  }

  async claim(username, password) {
    const user = await this.api("POST", "/api/auth/claim/", { username, password });
    this.store({ user });
    localStorage.setItem(KEYS.username, username.trim());
    this.dispatchEvent(new Event("changed"));
    return user;
  }

  async login(username, password) {
    const data = await rawJSON("POST", "/api/auth/login/", { username, password });
    this.clear();
    localStorage.removeItem(BANNED);
    this.store(data);
    localStorage.setItem(KEYS.username, username.trim());
    this.dispatchEvent(new Event("changed"));
    return data.user;
  }

  logout() {
    this.clear();
    this.dispatchEvent(new Event("changed"));
  }
}

export const identity = new Identity();
