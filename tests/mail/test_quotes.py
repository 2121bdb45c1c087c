"""Quoted history and signatures stripped as Gmail, Outlook and Apple Mail write them."""

from __future__ import annotations

import pytest

from countersign.mail.quotes import html_text, strip_reply

REPLIES = {
    "gmail": "Works now, thanks!\n\nOn Wed, 2 Dec 2026 at 23:10, Ann <a@acme.test> wrote:\n> Try again.\n",
    "gmail_wrapped": "Works now, thanks!\n\nOn Wed, 2 Dec 2026 at 23:10, Ann Example <\nann@acme.test> wrote:\n\n> Try again.",
    "apple_mail": "Works now, thanks!\n\nSent from my iPhone\n\n> On 2 Dec 2026, at 23:10, Ann <a@acme.test> wrote:\n>\n> Try again.",
    "apple_mail_desktop": "Works now, thanks!\n\nOn 2 Dec 2026, at 23:10, Ann <a@acme.test> wrote:\n\nTry again.",
    "outlook_original": "Works now, thanks!\n\n-----Original Message-----\nFrom: Ann <a@acme.test>\nSent: Wednesday\n",
    "outlook_rule": "Works now, thanks!\n\n________________________________\nFrom: Ann <a@acme.test>\nSent: Wednesday, December 2, 2026 11:10 PM\nTo: you",
    "outlook_block": "Works now, thanks!\n\nFrom: Ann <a@acme.test>\nSent: Wednesday, December 2, 2026\nTo: you\nSubject: Re: help",
    "signature": "Works now, thanks!\n\n-- \nAda Lovelace\nAnalytical Engines Ltd",
    "outlook_mobile": "Works now, thanks!\n\nGet Outlook for iOS",
}


@pytest.mark.parametrize("client", REPLIES)
def test_the_history_goes_and_the_reply_stays(client: str) -> None:
    assert strip_reply(REPLIES[client]) == "Works now, thanks!"


def test_a_reply_without_history_is_kept_whole() -> None:
    text = "Line one\n\nLine two: 3 > 2, and From: here"
    assert strip_reply(text) == text


@pytest.mark.parametrize(
    "html",
    [
        '<div dir="ltr">Works now, thanks!</div><br><div class="gmail_quote">'
        '<div class="gmail_attr">On Wed, Ann wrote:</div><blockquote>Try again.</blockquote></div>',
        '<div>Works now, thanks!</div><div id="divRplyFwdMsg"><b>From:</b> Ann</div>',
        '<div>Works now, thanks!</div><blockquote type="cite">On 2 Dec, Ann wrote: Try again.</blockquote>',
    ],
)
def test_html_quotes_go_too(html: str) -> None:
    assert strip_reply(html_text(html)) == "Works now, thanks!"


def test_html_scripts_are_no_text() -> None:
    assert strip_reply(html_text("<p>Hi</p><script>alert(1)</script><style>p{}</style>")) == "Hi"
