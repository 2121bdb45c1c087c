// A Countersign webhook receiver: Node.js built-ins only (http, crypto), no npm packages.
//
//   COUNTERSIGN_WEBHOOK_SECRET=whsec_... PORT=8000 node webhook_receiver.js
//
// It prints each new event as one JSON line. Put your own handling in handle().
const http = require("node:http");
const crypto = require("node:crypto");

const SECRET = process.env.COUNTERSIGN_WEBHOOK_SECRET;
const TOLERANCE_SECONDS = 300; // refuse deliveries signed longer ago (replays)
const MAX_BODY = 1024 * 1024;
const seenEventIds = new Set(); // use your database in production: deliveries are at least once

// X-Countersign-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
// (several v1= entries may appear during a secret rotation: any one matching is enough).
function verify(rawBody, header, secret) {
  let timestamp = null;
  const signatures = [];
  for (const part of String(header || "").split(",")) {
    const [name, value] = part.trim().split("=", 2);
    if (name === "t" && /^[0-9]+$/.test(value || "")) timestamp = Number(value);
    else if (name === "v1" && /^[0-9a-fA-F]{64}$/.test(value || "")) {
      signatures.push(Buffer.from(value, "hex"));
    }
  }
  if (timestamp === null || signatures.length === 0) return false;
  if (Math.abs(Date.now() / 1000 - timestamp) > TOLERANCE_SECONDS) return false;
  const expected = crypto
    .createHmac("sha256", secret)
    .update(Buffer.concat([Buffer.from(`${timestamp}.`, "utf8"), rawBody]))
    .digest();
  // Every candidate is compared in constant time; the lengths are equal (32 bytes).
  return signatures.some((signature) => crypto.timingSafeEqual(signature, expected));
}

function handle(event) {
  // Your code. event.data.contact.user_id is set only when Countersign verified the user.
  console.log(JSON.stringify(event));
}

const server = http.createServer((request, response) => {
  const chunks = [];
  let size = 0;
  request.on("data", (chunk) => {
    size += chunk.length;
    if (size > MAX_BODY) request.destroy();
    else chunks.push(chunk);
  });
  request.on("end", () => {
    const rawBody = Buffer.concat(chunks); // the raw bytes: verify them before parsing
    if (request.method !== "POST" || !verify(rawBody, request.headers["x-countersign-signature"], SECRET)) {
      response.writeHead(400).end(); // forged, tampered with, or replayed later
      return;
    }
    const event = JSON.parse(rawBody.toString("utf8"));
    if (!seenEventIds.has(event.id)) { // a retry of one already handled: skip it
      handle(event);
      seenEventIds.add(event.id);
    }
    response.writeHead(200).end(); // any 2xx: delivered. Anything else is retried later.
  });
});

if (!SECRET) throw new Error("COUNTERSIGN_WEBHOOK_SECRET is not set");
server.listen(Number(process.env.PORT || 8000), "127.0.0.1", () => console.log("listening"));
