// Countersign: the user hash your backend sends to the widget (Node.js, built-in crypto).
const crypto = require("node:crypto");

// HMAC-SHA256 of the user id, keyed with the app's identity secret, as lowercase hex.
// Sign exactly the identifier you pass to the widget: no trim(), no toLowerCase().
// A numeric id is signed as its decimal string (1234 -> "1234").
function countersignUserHash(userId) {
  const secret = process.env.COUNTERSIGN_IDENTITY_SECRET; // used as typed: never hex-decode it
  if (!secret) throw new Error("COUNTERSIGN_IDENTITY_SECRET is not set");
  return crypto.createHmac("sha256", secret).update(String(userId), "utf8").digest("hex");
  // base64 instead of hex: .digest("base64")
}

module.exports = { countersignUserHash };

if (require.main === module) {
  // Reads one identifier from stdin and prints its hash (the test suite runs this).
  const userId = require("node:fs").readFileSync(0, "utf8");
  console.log(countersignUserHash(userId));
}
