// Countersign: a user's identity token, signed with your Ed25519 private key
// (Node.js, built-in crypto). Only the public half is registered with Countersign.
const crypto = require("node:crypto");

const b64url = (data) => Buffer.from(data).toString("base64url");

// An EdDSA JWT naming the user: pass it to the widget as user_jwt.
function countersignUserToken(userId) {
  const pem = process.env.COUNTERSIGN_SIGNING_KEY; // PEM "PRIVATE KEY" (PKCS#8)
  const kid = process.env.COUNTERSIGN_KEY_ID; // the kid you registered the public key under
  if (!pem || !kid) throw new Error("COUNTERSIGN_SIGNING_KEY and COUNTERSIGN_KEY_ID must be set");
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: "EdDSA", typ: "JWT", kid };
  const claims = { sub: String(userId), iat: now, exp: now + 600 }; // the id exactly as sent
  const input = b64url(JSON.stringify(header)) + "." + b64url(JSON.stringify(claims));
  const signature = crypto.sign(null, Buffer.from(input), crypto.createPrivateKey(pem));
  return input + "." + b64url(signature);
}

module.exports = { countersignUserToken };

if (require.main === module) {
  // Reads one user id from stdin and prints its token (the test suite runs this).
  console.log(countersignUserToken(require("node:fs").readFileSync(0, "utf8")));
}
