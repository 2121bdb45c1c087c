// Countersign: a user's identity token, signed with your P-256 private key (ES256)
// (C# on .NET 5+, the base library only: .NET has no Ed25519, and Mono implements
// neither Ed25519 nor ECDsa). Only the public half is registered with Countersign.
using System;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

public static class CountersignToken
{
    static string B64Url(byte[] data) =>
        Convert.ToBase64String(data).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    // An ES256 JWT naming the user: pass it to the widget as user_jwt.
    public static string CountersignUserToken(string userId)
    {
        var pem = Environment.GetEnvironmentVariable("COUNTERSIGN_SIGNING_KEY"); // PKCS#8 PEM
        var kid = Environment.GetEnvironmentVariable("COUNTERSIGN_KEY_ID"); // the public key's kid
        if (string.IsNullOrEmpty(pem) || string.IsNullOrEmpty(kid))
            throw new InvalidOperationException("COUNTERSIGN_SIGNING_KEY and COUNTERSIGN_KEY_ID must be set");
        using var key = ECDsa.Create();
        key.ImportFromPem(pem);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = JsonSerializer.SerializeToUtf8Bytes(new { alg = "ES256", typ = "JWT", kid });
        var claims = JsonSerializer.SerializeToUtf8Bytes(new { sub = userId, iat = now, exp = now + 600 });
        var input = B64Url(header) + "." + B64Url(claims);
        // r || s, 64 bytes: the signature format JWS wants (.NET's default for SignData).
        var signature = key.SignData(Encoding.UTF8.GetBytes(input), HashAlgorithmName.SHA256);
        return input + "." + B64Url(signature);
    }

    // Reads one user id from stdin and prints its token (the test suite runs this).
    public static void Main()
    {
        Console.WriteLine(CountersignUserToken(Console.In.ReadToEnd()));
    }
}
