// Who this browser is: a JWT pair in localStorage, minted as a guest on the first visit.
// A reload, a new tab or a visit next week is the same person. An access token about to
// expire is refreshed first; a refresh token that no longer works is replaced by a new guest.
// Refreshing is serialized across tabs (Web Locks) because a refresh token works only once.

const KEYS = { access: "chat.access", refresh: "chat.refresh", user: "chat.user" };
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

  store({ access, refresh, user }) {
    if (access) localStorage.setItem(KEYS.access, access);
    if (refresh) localStorage.setItem(KEYS.refresh, refresh);
    if (user) localStorage.setItem(KEYS.user, JSON.stringify(user));
  }

  clear() {
    Object.values(KEYS).forEach((key) => localStorage.removeItem(key));
  }

  async mintGuest() {
    const data = await rawJSON("POST", "/api/auth/guest/");
    this.store(data);
    this.dispatchEvent(new Event("changed"));
    return data.access;
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
        return data.access;
      } catch (error) {
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
    return user;
  }

  async claim(username, password) {
    const user = await this.api("POST", "/api/auth/claim/", { username, password });
    this.store({ user });
    this.dispatchEvent(new Event("changed"));
    return user;
  }

  async login(username, password) {
    const data = await rawJSON("POST", "/api/auth/login/", { username, password });
    this.clear();
    this.store(data);
    this.dispatchEvent(new Event("changed"));
    return data.user;
  }

  logout() {
    this.clear();
    this.dispatchEvent(new Event("changed"));
  }
}

export const identity = new Identity();
