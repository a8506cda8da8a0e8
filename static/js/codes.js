// The contract's codes (PROTOCOL.md, "Frames"): a copy of chatsite/foundation/codes.py,
// kept equal to it by tests/test_codes.py. Compare codes through these names, never literals.

export const Close = Object.freeze({
  GOING_AWAY: 1001,
  TOO_BIG: 1009,
  SERVICE_RESTART: 1012,
  AUTH: 4401,
  BANNED: 4403,
  SLOW: 4408,
  TOO_MANY: 4429,
});

export const Code = Object.freeze({
  BAD_REQUEST: "bad_request",
  NOT_FOUND: "not_found",
  FORBIDDEN: "forbidden",
  NOT_JOINED: "not_joined",
  TOO_LONG: "too_long",
  EMPTY: "empty",
  RATE_LIMITED: "rate_limited",
  ROOM_CLOSED: "room_closed",
  UNAVAILABLE: "unavailable",
  INTERNAL: "internal",
  NAME_TAKEN: "name_taken",
  OWN_LISTING: "own_listing",
  INVALID_CREDENTIALS: "invalid_credentials",
  USERNAME_TAKEN: "username_taken",
  BLOCKED: "blocked",
  MUTED: "muted",
  SLOW_MODE: "slow_mode",
  FILTERED: "filtered",
  POW_REQUIRED: "pow_required",
  UNSUPPORTED_MEDIA: "unsupported_media",
  TOO_LARGE: "too_large",
  BANNED: "banned",
});
