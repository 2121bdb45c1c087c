// Countersign: a user's identity token, signed with your Ed25519 private key
// (Java 15+, the JDK only). Only the public half is registered with Countersign.
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.PrivateKey;
import java.security.Signature;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;

public final class CountersignToken {
    private static final Base64.Encoder B64URL = Base64.getUrlEncoder().withoutPadding();

    /** An EdDSA JWT naming the user: pass it to the widget as user_jwt. */
    static String countersignUserToken(String userId) throws GeneralSecurityException {
        String pem = System.getenv("COUNTERSIGN_SIGNING_KEY"); // PEM "PRIVATE KEY" (PKCS#8)
        String kid = System.getenv("COUNTERSIGN_KEY_ID"); // the kid the public key has
        if (pem == null || pem.isEmpty() || kid == null || kid.isEmpty()) {
            throw new IllegalStateException("COUNTERSIGN_SIGNING_KEY and COUNTERSIGN_KEY_ID must be set");
        }
        byte[] der = Base64.getMimeDecoder().decode(pem.replaceAll("-----[A-Z ]+-----", ""));
        PrivateKey key = KeyFactory.getInstance("Ed25519").generatePrivate(new PKCS8EncodedKeySpec(der));
        long now = System.currentTimeMillis() / 1000;
        String header = "{\"alg\":\"EdDSA\",\"typ\":\"JWT\",\"kid\":" + json(kid) + "}";
        String claims = "{\"sub\":" + json(userId) + ",\"iat\":" + now + ",\"exp\":" + (now + 600) + "}";
        String input = b64url(header) + "." + b64url(claims);
        Signature signer = Signature.getInstance("Ed25519");
        signer.initSign(key);
        signer.update(input.getBytes(StandardCharsets.UTF_8));
        return input + "." + B64URL.encodeToString(signer.sign());
    }

    private static String b64url(String text) {
        return B64URL.encodeToString(text.getBytes(StandardCharsets.UTF_8));
    }

    /** A JSON string literal: quotes, backslashes and control characters escaped. */
    private static String json(String text) {
        StringBuilder out = new StringBuilder("\"");
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') out.append('\\').append(c);
            else if (c < 0x20) out.append(String.format("\\u%04x", (int) c));
            else out.append(c);
        }
        return out.append('"').toString();
    }

    /** Reads one user id from stdin and prints its token (the test suite runs this). */
    public static void main(String[] args) throws Exception {
        String userId = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        System.out.println(countersignUserToken(userId));
    }
}
