"""The identity core: signing, encodings, key rings, diagnosis and identity tokens.

Pure computation on the standard library and PyJWT: it
imports nothing of the server, so a customer's backend can use it on its own.
"""

from .compare import macs_equal as macs_equal
from .diagnosis import FAILURE_CODES as FAILURE_CODES
from .diagnosis import HINTS as HINTS
from .diagnosis import Diagnosis as Diagnosis
from .diagnosis import DiagnosisCode as DiagnosisCode
from .diagnosis import diagnose as diagnose
from .encoding import ENCODINGS as ENCODINGS
from .encoding import Encoding as Encoding
from .encoding import decode_signature as decode_signature
from .encoding import encode_mac as encode_mac
from .exc import CountersignError as CountersignError
from .exc import InvalidEncoding as InvalidEncoding
from .exc import InvalidIdentifier as InvalidIdentifier
from .exc import InvalidSecret as InvalidSecret
from .exc import TokenAlgMismatch as TokenAlgMismatch
from .exc import TokenClaimInvalid as TokenClaimInvalid
from .exc import TokenError as TokenError
from .exc import TokenExpired as TokenExpired
from .exc import TokenMalformed as TokenMalformed
from .exc import TokenMissingClaim as TokenMissingClaim
from .exc import TokenNotYetValid as TokenNotYetValid
from .exc import TokenRevokedKey as TokenRevokedKey
from .exc import TokenSignatureInvalid as TokenSignatureInvalid
from .exc import TokenUnknownKey as TokenUnknownKey
from .exc import TokenWrongAudience as TokenWrongAudience
from .identifiers import MAX_IDENTIFIER_CHARS as MAX_IDENTIFIER_CHARS
from .identifiers import identifier_bytes as identifier_bytes
from .identifiers import identifier_text as identifier_text
from .keyring import KeyRing as KeyRing
from .keyring import RingKey as RingKey
from .mac import PreparedKey as PreparedKey
from .mac import compute_mac as compute_mac
from .mac import hmac_sha256 as hmac_sha256
from .public_keys import EMPTY_KEYS as EMPTY_KEYS
from .public_keys import InvalidPublicKey as InvalidPublicKey
from .public_keys import PublicKey as PublicKey
from .public_keys import PublicKeySet as PublicKeySet
from .public_keys import parse_jwk as parse_jwk
from .public_keys import parse_jwks as parse_jwks
from .public_keys import parse_pem as parse_pem
from .secret import Secret as Secret
from .secret import SecretLike as SecretLike
from .signing import sign as sign
from .signing import verify as verify
from .signing import verify_message as verify_message
from .token_codes import TOKEN_CODES as TOKEN_CODES
from .token_codes import token_fix as token_fix
from .token_codes import token_hint as token_hint
from .tokens import IdentityClaims as IdentityClaims
from .tokens import issue_identity_token as issue_identity_token
from .tokens import verify_identity_token as verify_identity_token
