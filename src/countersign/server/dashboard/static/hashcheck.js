/* Countersign hash checker: is this HMAC-SHA256(secret, identifier), and if not, which
 * common mistake made it? Runs entirely in the page with WebCrypto: nothing typed here
 * is sent anywhere (the inputs have no name and sit in no form, and this file makes no
 * request). The diagnoses follow the server's, in the same order, minus the ones that
 * need data the page does not have (revoked secrets, the contact's other identifier).
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-hash-checker]");
  if (!root) return;
  var appId = root.getAttribute("data-app-id");
  var hints = JSON.parse(document.getElementById("hc-hints").textContent);
  var secretInput = document.getElementById("hc-secret");
  var identifierInput = document.getElementById("hc-identifier");
  var hashInput = document.getElementById("hc-hash");
  var result = document.getElementById("hc-result");
  var encoder = new TextEncoder();

  document.getElementById("hc-show").addEventListener("change", function (event) {
    secretInput.type = event.target.checked ? "text" : "password";
  });

  // ---- SHA-256 and HMAC: WebCrypto, or plain JavaScript where it is unavailable
  // (WebCrypto needs a secure context: https, or http on localhost).
  var subtle = window.crypto && window.crypto.subtle;

  var K = new Uint32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2
  ]);

  function sha256Js(bytes) {
    var length = bytes.length;
    var padded = new Uint8Array(((length + 9 + 63) >> 6) << 6);
    padded.set(bytes);
    padded[length] = 0x80;
    var view = new DataView(padded.buffer);
    view.setUint32(padded.length - 4, length * 8);
    view.setUint32(padded.length - 8, Math.floor(length / 0x20000000));
    var h = new Uint32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
      0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19]);
    var w = new Uint32Array(64);
    for (var offset = 0; offset < padded.length; offset += 64) {
      for (var i = 0; i < 16; i++) w[i] = view.getUint32(offset + i * 4);
      for (i = 16; i < 64; i++) {
        var a = w[i - 15], b = w[i - 2];
        var s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
        var s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
        w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
      }
      var v = Array.prototype.slice.call(h);
      for (i = 0; i < 64; i++) {
        var e = v[4];
        var S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
        var t1 = (v[7] + S1 + ((e & v[5]) ^ (~e & v[6])) + K[i] + w[i]) | 0;
        var x = v[0];
        var S0 = ((x >>> 2) | (x << 30)) ^ ((x >>> 13) | (x << 19)) ^ ((x >>> 22) | (x << 10));
        var t2 = (S0 + ((x & v[1]) ^ (x & v[2]) ^ (v[1] & v[2]))) | 0;
        v = [(t1 + t2) | 0, v[0], v[1], v[2], (v[3] + t1) | 0, v[4], v[5], v[6]];
      }
      for (i = 0; i < 8; i++) h[i] = (h[i] + v[i]) | 0;
    }
    var out = new Uint8Array(32);
    var outView = new DataView(out.buffer);
    for (i = 0; i < 8; i++) outView.setUint32(i * 4, h[i]);
    return out;
  }

  function concat(a, b) {
    var out = new Uint8Array(a.length + b.length);
    out.set(a);
    out.set(b, a.length);
    return out;
  }

  function hmacJs(key, message) {
    if (key.length > 64) key = sha256Js(key);
    var inner = new Uint8Array(64), outer = new Uint8Array(64);
    for (var i = 0; i < 64; i++) {
      var k = i < key.length ? key[i] : 0;
      inner[i] = k ^ 0x36;
      outer[i] = k ^ 0x5c;
    }
    return sha256Js(concat(outer, sha256Js(concat(inner, message))));
  }

  function sha256(bytes) {
    if (!subtle) return Promise.resolve(sha256Js(bytes));
    return subtle.digest("SHA-256", bytes).then(function (d) { return new Uint8Array(d); });
  }

  function hmac(key, message) {
    if (!subtle || key.length === 0) return Promise.resolve(hmacJs(key, message));
    return subtle.importKey("raw", key, { name: "HMAC", hash: "SHA-256" }, false, ["sign"])
      .then(function (k) { return subtle.sign("HMAC", k, message); })
      .then(function (mac) { return new Uint8Array(mac); });
  }

  // ---- decoding the presented hash, strictly (as the server does)
  var HEX = /^[0-9a-fA-F]+$/;
  var B64 = /^[A-Za-z0-9+/]+={0,2}$/;
  var B64URL = /^[A-Za-z0-9_-]+$/;

  function fromHex(text) {
    var out = new Uint8Array(text.length / 2);
    for (var i = 0; i < out.length; i++) out[i] = parseInt(text.substr(i * 2, 2), 16);
    return out;
  }

  function fromBase64(text) {
    var standard = text.replace(/-/g, "+").replace(/_/g, "/");
    while (standard.length % 4) standard += "=";
    try {
      var binary = atob(standard);
    } catch (e) {
      return null;
    }
    var out = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  }

  function decode(text) {
    if (text.length === 64 && HEX.test(text)) return { bytes: fromHex(text), encoding: "hex" };
    if ((text.length === 43 || text.length === 44) && (B64.test(text) || B64URL.test(text))) {
      var bytes = fromBase64(text);
      if (bytes && bytes.length === 32) {
        return { bytes: bytes, encoding: B64URL.test(text) && /[-_]/.test(text) ? "base64url" : "base64" };
      }
    }
    return null;
  }

  var DIGEST_NAMES = { 32: "MD5 (or a truncated tag)", 40: "SHA-1", 56: "SHA-224", 96: "SHA-384", 128: "SHA-512" };

  function describeMalformed(text) {
    var stripped = text.trim();
    if (stripped !== text && decode(stripped)) {
      return "The hash has surrounding whitespace or a newline: strip it before sending.";
    }
    var expected = hints.malformed_signature;
    if (HEX.test(stripped)) {
      if (DIGEST_NAMES[stripped.length]) {
        return stripped.length + " hex characters look like " + DIGEST_NAMES[stripped.length] +
          ", not HMAC-SHA256. " + expected;
      }
      return stripped.length + " hex characters; a full HMAC-SHA256 is 64. " + expected;
    }
    if (B64.test(stripped) || B64URL.test(stripped)) {
      var raw = fromBase64(stripped);
      if (raw && raw.length === 64 && HEX.test(String.fromCharCode.apply(null, raw))) {
        return "This is base64 of the hex digest: send the hex digest itself, or base64 of the raw 32 bytes.";
      }
      if (raw) return "base64 of " + raw.length + " bytes; an HMAC-SHA256 is 32 bytes. " + expected;
    }
    return "Not hex or base64 of 32 bytes (" + text.length + " characters). " + expected;
  }

  function equal(a, b) {
    if (a.length !== b.length) return false;
    var diff = 0;
    for (var i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  function unique(list, except) {
    return list.filter(function (item, index) { return item !== except && list.indexOf(item) === index; });
  }

  // Try candidates in order; resolve with the first whose MAC matches, or null.
  function firstMatch(candidates, compute, presented) {
    return candidates.reduce(function (found, candidate) {
      return found.then(function (hit) {
        if (hit !== null) return hit;
        return compute(candidate).then(function (mac) { return equal(mac, presented) ? candidate : null; });
      });
    }, Promise.resolve(null));
  }

  function show(kind, code, message, detail) {
    result.className = "hc-result " + kind;
    result.setAttribute("data-code", code);
    result.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = kind === "valid" ? "Valid. " : kind === "invalid" ? "Invalid: " : "";
    result.appendChild(strong);
    if (kind === "invalid") {
      var codeElement = document.createElement("code");
      codeElement.textContent = code;
      result.appendChild(codeElement);
      result.appendChild(document.createTextNode(". "));
    }
    result.appendChild(document.createTextNode(message));
    if (detail) {
      var p = document.createElement("p");
      p.textContent = detail;
      result.appendChild(p);
    }
  }

  function quoted(text) {
    return JSON.stringify(text);
  }

  function diagnose(secret, identifier, hash) {
    if (!hash) return Promise.resolve(["invalid", "missing_signature", hints.missing_signature]);
    if (hash === identifier) {
      return Promise.resolve(["invalid", "signature_is_identifier", hints.signature_is_identifier]);
    }
    var decoded = decode(hash);
    if (!decoded) return Promise.resolve(["invalid", "malformed_signature", describeMalformed(hash)]);
    var presented = decoded.bytes;
    var key = encoder.encode(secret);
    var message = encoder.encode(identifier);
    var byKey = function (k) { return hmac(encoder.encode(k), message); };
    var byIdentifier = function (id) { return hmac(key, encoder.encode(id)); };

    return hmac(key, message).then(function (mac) {
      if (equal(mac, presented)) {
        return ["valid", "ok", "HMAC-SHA256 of " + quoted(identifier) + " with this secret, in " +
          decoded.encoding + ". The widget will verify it."];
      }
      var secrets = unique([secret.trim(), secret + "\n", secret + "\r\n", secret + " ",
        secret.replace(/\s+$/, "")], secret);
      return firstMatch(secrets, byKey, presented).then(function (hit) {
        if (hit !== null) return ["invalid", "secret_whitespace", hints.secret_whitespace];
        var cases = unique([identifier.toLowerCase(), identifier.toUpperCase()], identifier);
        return firstMatch(cases, byIdentifier, presented).then(function (hit) {
          if (hit !== null) {
            return ["invalid", "identifier_case", hints.identifier_case,
              "Your server signed " + quoted(hit) + " but the page passes " + quoted(identifier) + "."];
          }
          var spaced = unique([identifier.trim(), identifier + "\n", identifier + " ", " " + identifier,
            identifier + "\r\n"], identifier);
          return firstMatch(spaced, byIdentifier, presented).then(function (hit) {
            if (hit !== null) {
              return ["invalid", "identifier_whitespace", hints.identifier_whitespace,
                "Your server signed " + quoted(hit) + "."];
            }
            return byKey(appId).then(function (mac) {
              if (equal(mac, presented)) return ["invalid", "public_key_used", hints.public_key_used];
              var plains = [identifier, secret + identifier, identifier + secret];
              return firstMatch(plains, function (text) { return sha256(encoder.encode(text)); }, presented)
                .then(function (hit) {
                  if (hit !== null) return ["invalid", "plain_hash", hints.plain_hash];
                  if (secret.length % 2 === 0 && HEX.test(secret)) {
                    return hmac(fromHex(secret), message).then(function (mac) {
                      if (equal(mac, presented)) {
                        return ["invalid", "hex_decoded_secret", hints.hex_decoded_secret];
                      }
                      return ["invalid", "unknown", hints.unknown];
                    });
                  }
                  return ["invalid", "unknown", hints.unknown];
                });
            });
          });
        });
      });
    });
  }

  function check() {
    var secret = secretInput.value;
    var identifier = identifierInput.value;
    var hash = hashInput.value;
    if (!secret || !identifier) {
      show("idle", "incomplete", "Type the secret and the identifier, then the hash.");
      return;
    }
    diagnose(secret, identifier, hash).then(function (answer) {
      show(answer[0], answer[1], answer[2], answer[3]);
    }, function (error) {
      show("invalid", "error", "The check could not run: " + error);
    });
  }

  document.getElementById("hc-check").addEventListener("click", check);
  [secretInput, identifierInput, hashInput].forEach(function (input) {
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") check();
    });
  });
})();
