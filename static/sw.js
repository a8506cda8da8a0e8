// The service worker: shows a pushed message and opens (or focuses) its room on click.
// Served at /sw.js so its scope is the whole site. The payload is PROTOCOL.md's
// {"type": "message", "room", "url", "title", "body", "lang"}; it is shown as text only.
// A service worker has no page and no JavaScript catalog: every word it shows comes
// translated in the payload, written in the recipient's settings language, which `lang`
// names (issue 15); the fallback title is in that language too.

const FALLBACK_TITLE = { en: "New message", ko: "새 메시지" };

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {};
  }
  if (data.type !== "message") return;
  event.waitUntil(
    self.registration.showNotification(String(data.title || FALLBACK_TITLE[data.lang] || FALLBACK_TITLE.en), {
      body: String(data.body || ""),
      lang: typeof data.lang === "string" ? data.lang : "",
      tag: `room-${data.room}`, // one notification per room, replaced by the newest
      renotify: true,
      data: { url: data.url, room: data.room },
    }),
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return; // only ever our own pages
  event.waitUntil(
    (async () => {
      const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
      for (const client of windows) {
        const url = new URL(client.url);
        if (url.pathname === target.pathname) return client.focus();
      }
      return self.clients.openWindow(target.href);
    })(),
  );
});
