<?php
// Countersign: the user hash your backend sends to the widget (PHP 8, built-in hash_hmac).

// HMAC-SHA256 of the user id, keyed with the app's identity secret, as lowercase hex.
// Sign exactly the identifier you pass to the widget: no trim(), no strtolower().
// An integer id is signed as its decimal string (1234 -> "1234").
function countersign_user_hash(string|int $userId): string
{
    $secret = getenv('COUNTERSIGN_IDENTITY_SECRET'); // used as typed: never hex2bin() it
    if ($secret === false || $secret === '') {
        throw new RuntimeException('COUNTERSIGN_IDENTITY_SECRET is not set');
    }
    return hash_hmac('sha256', (string) $userId, $secret);
    // base64 instead of hex: base64_encode(hash_hmac('sha256', (string) $userId, $secret, true))
}

if (PHP_SAPI === 'cli' && realpath($argv[0] ?? '') === __FILE__) {
    // Reads one identifier from stdin and prints its hash (the test suite runs this).
    echo countersign_user_hash(file_get_contents('php://stdin')), "\n";
}
