"""Countersign: prove that the user in your chat widget is who your page says.

``from countersign import sign, verify, diagnose`` is all a customer's backend needs;
the server, storage and command line build on :mod:`countersign.core`.
"""

from .core import FAILURE_CODES as FAILURE_CODES
from .core import CountersignError as CountersignError
from .core import Diagnosis as Diagnosis
from .core import IdentityClaims as IdentityClaims
from .core import InvalidIdentifier as InvalidIdentifier
from .core import InvalidSecret as InvalidSecret
from .core import KeyRing as KeyRing
from .core import RingKey as RingKey
from .core import Secret as Secret
from .core import TokenError as TokenError
from .core import diagnose as diagnose
from .core import issue_identity_token as issue_identity_token
from .core import sign as sign
from .core import verify as verify
from .core import verify_identity_token as verify_identity_token

__version__ = "0.1.0"
