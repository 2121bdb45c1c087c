"""A file name as the uploader gave it, made safe to store and show.

It is never used as a path: stored names are for display and Content-Disposition
only. Still, path separators, NUL and control characters are dropped so that no
consumer (a download prompt, a log line, a webhook receiver) is surprised by them."""

from __future__ import annotations

import unicodedata
from typing import Final

MAX_NAME_CHARS: Final = 120
FALLBACK: Final = "file"


def sanitise_name(raw: str | None) -> str:
    if not raw:
        return FALLBACK
    # The last component only: "C:\\Users\\me\\shot.png" and "../../x" keep their tails.
    tail = raw.replace("\\", "/").rsplit("/", 1)[-1]
    kept = "".join(
        char for char in tail if unicodedata.category(char)[0] != "C" and char not in '"'
    ).strip(" .")
    if len(kept) > MAX_NAME_CHARS:
        stem, dot, extension = kept.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            kept = stem[: MAX_NAME_CHARS - len(extension) - 1] + "." + extension
        else:
            kept = kept[:MAX_NAME_CHARS]
    return kept or FALLBACK
