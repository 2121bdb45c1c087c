// Countersign: a user's identity token, signed with your Ed25519 private key
// (Go, standard library only). Only the public half is registered with Countersign.
package main

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// countersignUserToken is an EdDSA JWT naming the user: pass it to the widget as user_jwt.
func countersignUserToken(userID string) (string, error) {
	block, _ := pem.Decode([]byte(os.Getenv("COUNTERSIGN_SIGNING_KEY"))) // PEM "PRIVATE KEY"
	kid := os.Getenv("COUNTERSIGN_KEY_ID") // the kid you registered the public key under
	if block == nil || kid == "" {
		return "", errors.New("COUNTERSIGN_SIGNING_KEY and COUNTERSIGN_KEY_ID must be set")
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return "", err
	}
	key, ok := parsed.(ed25519.PrivateKey)
	if !ok {
		return "", errors.New("COUNTERSIGN_SIGNING_KEY is not an Ed25519 key")
	}
	now := time.Now().Unix()
	header, _ := json.Marshal(map[string]string{"alg": "EdDSA", "typ": "JWT", "kid": kid})
	claims, err := json.Marshal(map[string]any{"sub": userID, "iat": now, "exp": now + 600})
	if err != nil {
		return "", err
	}
	b64url := base64.RawURLEncoding.EncodeToString
	input := b64url(header) + "." + b64url(claims)
	return input + "." + b64url(ed25519.Sign(key, []byte(input))), nil
}

// main reads one user id from stdin and prints its token (the test suite runs this).
func main() {
	userID, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	token, err := countersignUserToken(string(userID))
	if err != nil {
		panic(err)
	}
	fmt.Println(token)
}
