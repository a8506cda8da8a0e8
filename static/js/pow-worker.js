// Solves the guest puzzle off the page's thread: find a nonce such that SHA-256 of
// `${challenge}:${nonce}` starts with `bits` zero bits (PROTOCOL.md, POST /api/auth/guest/).
// crypto.subtle is asynchronous, so digests run in batches to keep it busy; progress is
// posted as tries so far against the expected number (2^bits).

const BATCH = 256;

function zeroBits(bytes) {
  let count = 0;
  for (const byte of bytes) {
    if (byte === 0) {
      count += 8;
      continue;
    }
    return count + Math.clz32(byte) - 24;
  }
  return count;
}

self.onmessage = async ({ data: { challenge, bits } }) => {
  const encoder = new TextEncoder();
  const expected = 2 ** bits;
  let lastReport = 0;
  for (let start = 0; ; start += BATCH) {
    const nonces = Array.from({ length: BATCH }, (_, i) => String(start + i));
    const digests = await Promise.all(
      nonces.map((nonce) => crypto.subtle.digest("SHA-256", encoder.encode(`${challenge}:${nonce}`))),
    );
    for (let i = 0; i < BATCH; i++) {
      if (zeroBits(new Uint8Array(digests[i])) >= bits) {
        self.postMessage({ nonce: nonces[i], tried: start + i + 1, expected });
        return;
      }
    }
    const now = performance.now();
    if (now - lastReport > 100) {
      lastReport = now;
      self.postMessage({ tried: start + BATCH, expected });
    }
  }
};
