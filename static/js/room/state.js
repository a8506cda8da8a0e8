// What a room page holds while it is open: one object, passed to the modules that need it.

export function createRoomState({ id, me }) {
  return {
    id,
    me,
    room: null, // the room object (PROTOCOL.md), once loaded
    shown: new Map(), // message id -> { data, el }
    pending: new Map(), // client_id -> the bubble of a send not yet acknowledged
    uploads: [], // images in the composer: { file, el, status: "uploading"|"done"|"failed", attachment }
    oldestSeq: Infinity, // the oldest message shown
    newestSeq: -Infinity, // the newest message shown
    hasMore: false, // older history exists on the server
    hasNewer: false, // opened at an older message: newer history exists beyond what is shown
    loadingOlder: false,
    loadingNewer: false,
    future: new Map(), // message id -> live message newer than shown while hasNewer (applied once caught up)
    replyTo: null, // the message the composer answers, if any
    present: [], // users present in the room (presence), for @ completion
    unseen: 0, // live messages arrived while scrolled up
    peerRead: 0, // direct rooms: the peer read up to this seq
    readSent: 0, // the last seq this page reported as read
    isMine(message) {
      return Boolean(this.me) && message.author.id === this.me.id;
    },
  };
}
