"""The install guide's code: the widget tag and the server-side hash in seven languages.

The hash code is the tested files of ``docs/snippets`` (the package ships a copy under
``snippets/``, kept identical by ``tests/dashboard/test_install_guide.py``), headed by
a comment naming this app. The secret appears only as the name of the environment
variable the code reads: a page that anyone can screenshot never holds it.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Final

SECRET_ENV: Final = "COUNTERSIGN_IDENTITY_SECRET"  # noqa: S105 (a variable name)
SNIPPET_DIR: Final = Path(__file__).with_name("snippets")


@dataclass(frozen=True, slots=True)
class Language:
    key: str
    label: str
    source: str  # the file under docs/snippets
    comment: str  # how a line comment starts


LANGUAGES: Final = (
    Language("python", "Python", "python.py", "#"),
    Language("node", "Node.js", "node.js", "//"),
    Language("php", "PHP", "php.php", "//"),
    Language("ruby", "Ruby", "ruby.rb", "#"),
    Language("go", "Go", "go/main.go", "//"),
    Language("java", "Java", "CountersignHash.java", "//"),
    Language("csharp", "C#", "csharp.cs", "//"),
)


@dataclass(frozen=True, slots=True)
class Snippet:
    key: str
    label: str
    code: str


@functools.cache
def _source(name: str) -> str:
    return (SNIPPET_DIR / (Path(name).name + ".txt")).read_text(encoding="utf-8")


def server_snippets(app_id: str, app_name: str) -> list[Snippet]:
    """Each language's hash code, headed by the app it is for and where its secret goes."""
    name = "".join(ch if ch.isprintable() else "?" for ch in app_name)
    snippets = []
    for language in LANGUAGES:
        c = language.comment
        header = (
            f"{c} For the Countersign app {name!r} ({app_id}).\n"
            f"{c} Set {SECRET_ENV} on your server to one of this app's identity secrets;\n"
            f"{c} never put the secret in a page, a script or a repository.\n"
        )
        code = _source(language.source)
        if code.startswith("<?php\n"):
            code = "<?php\n" + header + code.removeprefix("<?php\n")
        else:
            code = header + code
        snippets.append(Snippet(language.key, language.label, code))
    return snippets


def widget_tag(origin: str, app_id: str) -> str:
    return f'<script src="{origin}/widget.js" data-app-id="{app_id}" async></script>'


def page_snippet(origin: str, app_id: str, identifier: str) -> str:
    """What a logged-in page renders: the claimed identifier and its hash, then the tag."""
    field = "email" if identifier == "email" else "user_id"
    settings = {"app_id": app_id, field: "CURRENT_USER_" + field.upper(), "user_hash": "HASH"}
    body = json.dumps(settings, indent=4).replace("\n}", "\n  }")
    return (
        "<script>\n"
        f"  // Rendered by your server: HASH = countersignUserHash(the {field} you send).\n"
        f"  window.countersignSettings = {body};\n"
        "</script>\n" + widget_tag(origin, app_id)
    )
