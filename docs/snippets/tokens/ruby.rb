# Countersign: a user's identity token, signed with your Ed25519 private key
# (Ruby, the bundled openssl). Only the public half is registered with Countersign.
require "base64"
require "json"
require "openssl"

# An EdDSA JWT naming the user: pass it to the widget as user_jwt.
def countersign_user_token(user_id)
  key = OpenSSL::PKey.read(ENV.fetch("COUNTERSIGN_SIGNING_KEY")) # PEM "PRIVATE KEY" (PKCS#8)
  kid = ENV.fetch("COUNTERSIGN_KEY_ID") # the kid you registered the public key under
  now = Time.now.to_i
  b64url = ->(data) { Base64.urlsafe_encode64(data, padding: false) }
  header = JSON.generate({ alg: "EdDSA", typ: "JWT", kid: kid })
  claims = JSON.generate({ sub: user_id, iat: now, exp: now + 600 }) # the id exactly as sent
  input = "#{b64url.call(header)}.#{b64url.call(claims)}"
  "#{input}.#{b64url.call(key.sign(nil, input))}" # Ed25519 signs the message itself: no digest
end

if $PROGRAM_NAME == __FILE__
  # Reads one user id from stdin and prints its token (the test suite runs this).
  puts countersign_user_token($stdin.binmode.read.force_encoding(Encoding::UTF_8))
end
