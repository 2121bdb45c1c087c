# Countersign: the user hash your backend sends to the widget (Ruby, OpenSSL from the stdlib).
require "openssl"

# HMAC-SHA256 of the user id, keyed with the app's identity secret, as lowercase hex.
# Sign exactly the identifier you pass to the widget: no strip, no downcase.
# An integer id is signed as its decimal string (1234 -> "1234").
def countersign_user_hash(user_id)
  secret = ENV.fetch("COUNTERSIGN_IDENTITY_SECRET") # used as typed: never [secret].pack("H*")
  OpenSSL::HMAC.hexdigest("SHA256", secret, user_id.to_s)
  # base64 instead of hex: OpenSSL::HMAC.base64digest("SHA256", secret, user_id.to_s)
end

if $PROGRAM_NAME == __FILE__
  # Reads one identifier from stdin and prints its hash (the test suite runs this).
  puts countersign_user_hash($stdin.read)
end
