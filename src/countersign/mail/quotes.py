"""A reply without its quoted history and signature: what the contact wrote.

Mail clients put the history below a marker line; everything from the first marker
on goes, and a signature after ``-- `` (RFC 3676) or a mobile client's "Sent from"
line goes with it:

- Gmail: ``On Tue, 3 Dec 2026 at 10:00, Ann <ann@example.com> wrote:`` (often wrapped
  over two lines), then ``>`` lines;
- Apple Mail: ``On 3 Dec 2026, at 10:00, Ann <ann@example.com> wrote:``;
- Outlook: ``-----Original Message-----``, or a rule of underscores followed by a
  ``From:`` / ``Sent:`` block, or that block alone.

HTML-only mail is read as text first, without Gmail's ``gmail_quote``, Outlook's
``divRplyFwdMsg`` and Apple Mail's ``blockquote type="cite"``.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Final

MAX_REPLY_CHARS: Final = 10_000

_WROTE: Final = re.compile(
    r"^\s*(On|Le|Am|El|Il)\b.{0,300}(wrote|a écrit|schrieb|escribió|ha scritto)\s*:\s*$",
    re.IGNORECASE | re.DOTALL,
)
_ORIGINAL: Final = re.compile(
    r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}\s*$", re.IGNORECASE
)
_RULE: Final = re.compile(r"^\s*_{10,}\s*$")
_HEADER_BLOCK: Final = re.compile(r"^\s*\*?(From|De|Von)\s*:\*?\s", re.IGNORECASE)
_SENT_LINE: Final = re.compile(r"^\s*\*?(Sent|Date|Envoyé|Gesendet)\s*:\*?\s", re.IGNORECASE)
_SIGNATURE: Final = re.compile(
    r"^(-- ?|Sent from my \w+.*|Get Outlook for \w+.*|Sent from Outlook.*|Envoyé de mon \w+.*)$",
    re.IGNORECASE,
)


def _cut_at(lines: list[str]) -> int:
    """The index of the first line of quoted history or signature (len: none)."""
    for index, line in enumerate(lines):
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if line.startswith(">"):
            return index
        if _WROTE.match(line) or _WROTE.match(f"{line} {following}"):
            return index
        if _ORIGINAL.match(line) or _SIGNATURE.match(line.rstrip("\r")):
            return index
        if _RULE.match(line) and _HEADER_BLOCK.match(following):
            return index
        if _HEADER_BLOCK.match(line) and any(
            _SENT_LINE.match(n) for n in lines[index + 1 : index + 4]
        ):
            return index
    return len(lines)


def strip_reply(text: str) -> str:
    """What the writer wrote above the history, trimmed (may be empty)."""
    lines = text.replace("\r\n", "\n").split("\n")
    kept = lines[: _cut_at(lines)]
    return "\n".join(kept).strip()[:MAX_REPLY_CHARS]


_QUOTE_CLASSES: Final = ("gmail_quote", "gmail_signature", "divRplyFwdMsg", "moz-cite-prefix")
_BREAKS: Final = frozenset({"br", "p", "div", "tr", "li", "h1", "h2", "h3", "blockquote"})
_VOID: Final = frozenset(
    {"br", "img", "hr", "meta", "link", "input", "wbr", "col", "area", "base", "source"}
)


class _Text(HTMLParser):
    """The text of an HTML part, without the clients' quoted blocks, scripts, styles."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def _skipped(self, tag: str, attrs: list[tuple[str, str | None]]) -> bool:
        found = dict(attrs)
        classes = (found.get("class") or "").split()
        return (
            tag in ("script", "style", "head", "title")
            or any(name in classes for name in _QUOTE_CLASSES)
            or found.get("id") == "divRplyFwdMsg"
            or (tag == "blockquote" and (found.get("type") or "").lower() == "cite")
        )

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag == "br" and not self._skip_depth:
                self.parts.append("\n")
            return
        if self._skip_depth or self._skipped(tag, attrs):
            self._skip_depth += 1
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID:
            return
        if self._skip_depth:
            self._skip_depth -= 1
        elif tag in _BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.parts.append(data)


def html_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    parser.close()
    text = "".join(parser.parts)
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.strip() for line in text.split("\n")))
