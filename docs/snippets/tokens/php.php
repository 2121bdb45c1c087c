<?php
// Countersign: a user's identity token, signed with your Ed25519 private key
// (PHP, the bundled sodium extension). Only the public half is registered with Countersign.

function countersign_b64url(string $data): string
{
    return rtrim(strtr(base64_encode($data), '+/', '-_'), '=');
}

// An EdDSA JWT naming the user: pass it to the widget as user_jwt.
function countersign_user_token(string $userId): string
{
    $pem = getenv('COUNTERSIGN_SIGNING_KEY'); // PEM "PRIVATE KEY" (PKCS#8)
    $kid = getenv('COUNTERSIGN_KEY_ID'); // the kid you registered the public key under
    if (!$pem || !$kid) {
        throw new RuntimeException('COUNTERSIGN_SIGNING_KEY and COUNTERSIGN_KEY_ID must be set');
    }
    // A PKCS#8 Ed25519 key ends with its 32-byte seed; sodium derives the key pair from it.
    $der = base64_decode(preg_replace('/-----[^-]+-----|\s+/', '', $pem), true);
    if ($der === false || strlen($der) !== 48) {
        throw new RuntimeException('COUNTERSIGN_SIGNING_KEY is not an Ed25519 PKCS#8 key');
    }
    $secret = sodium_crypto_sign_secretkey(sodium_crypto_sign_seed_keypair(substr($der, -32)));
    $now = time();
    $flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE | JSON_THROW_ON_ERROR;
    $header = json_encode(['alg' => 'EdDSA', 'typ' => 'JWT', 'kid' => $kid], $flags);
    $claims = json_encode(['sub' => $userId, 'iat' => $now, 'exp' => $now + 600], $flags);
    $input = countersign_b64url($header) . '.' . countersign_b64url($claims);
    return $input . '.' . countersign_b64url(sodium_crypto_sign_detached($input, $secret));
}

if (PHP_SAPI === 'cli' && realpath($argv[0]) === __FILE__) {
    // Reads one user id from stdin and prints its token (the test suite runs this).
    echo countersign_user_token(stream_get_contents(STDIN)), "\n";
}
