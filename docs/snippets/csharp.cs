// Countersign: the user hash your backend sends to the widget (C#, .NET or Mono).
using System;
using System.IO;
using System.Security.Cryptography;
using System.Text;

public static class CountersignHash
{
    // HMAC-SHA256 of the user id, keyed with the app's identity secret, as lowercase hex.
    // Sign exactly the identifier you pass to the widget: no Trim(), no ToLower().
    // A numeric id is signed as its decimal string: id.ToString(CultureInfo.InvariantCulture).
    public static string CountersignUserHash(string userId)
    {
        string secret = Environment.GetEnvironmentVariable("COUNTERSIGN_IDENTITY_SECRET")
            ?? throw new InvalidOperationException("COUNTERSIGN_IDENTITY_SECRET is not set");
        // The key is the secret's UTF-8 bytes, used as typed: never hex- or base64-decode it.
        using (var hmac = new HMACSHA256(Encoding.UTF8.GetBytes(secret)))
        {
            byte[] tag = hmac.ComputeHash(Encoding.UTF8.GetBytes(userId));
            return BitConverter.ToString(tag).Replace("-", "").ToLowerInvariant();
            // base64 instead of hex: Convert.ToBase64String(tag)
        }
    }

    // Reads one identifier from stdin and prints its hash (the test suite runs this).
    public static void Main()
    {
        var stdin = new StreamReader(Console.OpenStandardInput(), new UTF8Encoding(false), false);
        Console.WriteLine(CountersignUserHash(stdin.ReadToEnd()));
    }
}
