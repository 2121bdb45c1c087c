"""The single place where a presented MAC is compared with an expected one.

Every MAC check in Countersign (identity hashes, webhook signatures, dashboard CSRF
tokens) calls :func:`macs_equal`, on bytes, so there is exactly one comparison to audit
(a ruff rule bans `hmac.compare_digest` elsewhere). It is the standard
library's constant-time comparison itself, not a wrapper: it sits on the hot path of
every identify, where a Python-level call is a tenth of the budget.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Final

macs_equal: Final[Callable[[bytes, bytes], bool]] = hmac.compare_digest
