// The server's limits, rendered into <body data-…> by chatsite/pages.py from settings.CHAT:
// the client keeps no copy of its own that could drift from the server's.

const data = document.body.dataset;

export const limits = Object.freeze({
  bodyMax: Number(data.bodyMax), // characters per message
  roomNameMax: Number(data.roomNameMax),
  historyPage: Number(data.historyPage), // messages per history request
  typingInterval: Number(data.typingInterval), // seconds between `typing` frames
  heartbeatInterval: Number(data.heartbeatInterval), // seconds between pings
});
