// Countersign: the user hash your backend sends to the widget (Go, standard library only).
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
)

// countersignUserHash is HMAC-SHA256 of the user id, keyed with the app's identity secret,
// as lowercase hex. Sign exactly the identifier you pass to the widget: no
// strings.TrimSpace, no strings.ToLower. A numeric id is signed as its decimal string:
// countersignUserHash(strconv.FormatInt(id, 10)).
func countersignUserHash(userID string) string {
	secret := os.Getenv("COUNTERSIGN_IDENTITY_SECRET") // used as typed: never hex-decode it
	if secret == "" {
		panic("COUNTERSIGN_IDENTITY_SECRET is not set")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(userID)) // a Go string already holds the UTF-8 bytes
	return hex.EncodeToString(mac.Sum(nil))
	// base64 instead of hex: base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// main reads one identifier from stdin and prints its hash (the test suite runs this).
func main() {
	userID, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	fmt.Println(countersignUserHash(string(userID)))
}
