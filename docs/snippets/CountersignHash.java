// Countersign: the user hash your backend sends to the widget (Java 11+, javax.crypto).
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Objects;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

public final class CountersignHash {

    /**
     * HMAC-SHA256 of the user id, keyed with the app's identity secret, as lowercase hex.
     * Sign exactly the identifier you pass to the widget: no trim(), no toLowerCase().
     * A numeric id is signed as its decimal string: countersignUserHash(Long.toString(id)).
     */
    public static String countersignUserHash(String userId) throws GeneralSecurityException {
        String secret = Objects.requireNonNull(System.getenv("COUNTERSIGN_IDENTITY_SECRET"),
                "COUNTERSIGN_IDENTITY_SECRET is not set");
        // The key is the secret's UTF-8 bytes, used as typed: never hex- or base64-decode it.
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), "HmacSHA256"));
        byte[] tag = mac.doFinal(userId.getBytes(StandardCharsets.UTF_8));
        StringBuilder hex = new StringBuilder(64);
        for (byte b : tag) {
            hex.append(String.format("%02x", b));
        }
        return hex.toString();
        // base64 instead of hex: java.util.Base64.getEncoder().encodeToString(tag)
    }

    // Reads one identifier from stdin and prints its hash (the test suite runs this).
    public static void main(String[] args) throws IOException, GeneralSecurityException {
        String userId = new String(System.in.readAllBytes(), StandardCharsets.UTF_8);
        System.out.println(countersignUserHash(userId));
    }
}
