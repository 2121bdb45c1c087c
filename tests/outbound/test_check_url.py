"""check_url: what a definition refuses before any traffic, with the code it says."""

from __future__ import annotations

import pytest

from countersign.outbound import OutboundError, check_url

from .test_addresses import NOT_PUBLIC

INVALID = [
    "",
    "example.com/hook",
    "/relative",
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://example.com/",
    "javascript:alert(1)",
    "http:///nohost",
    "http://user:password@example.com/",
    "https://token@example.com/",
    "http://example.com:99999/",
    "http://example.com:0/",
    "http://exa mple.com/",
    "http://example.com/\nX-Injected: 1",
    "http://[::1/",
    "http://example.com/" + "a" * 3000,
]

PRIVATE_HOSTS = [
    *(f"[{text.split('%')[0]}]" if ":" in text else text for text in NOT_PUBLIC),
    # spellings the URL parser passes as host names and the resolver reads as IPv4
    "2130706433",
    "0x7f000001",
    "0x7f.1",
    "127.1",
    "127.0.1",
    "0",
    "017700000001",
    "0xa9.0xfe.0xa9.0xfe",
    # loopback by name (RFC 6761)
    "localhost",
    "LOCALHOST",
    "localhost.",
    "api.localhost",
]


@pytest.mark.parametrize("url", INVALID)
def test_invalid_urls(url: str) -> None:
    with pytest.raises(OutboundError) as caught:
        check_url(url)
    assert caught.value.code == "invalid_url"
    assert caught.value.message


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_private_hosts_refused_by_default(host: str) -> None:
    for url in (f"http://{host}/hook", f"https://{host}:8443/hook?x=1"):
        with pytest.raises(OutboundError) as caught:
            check_url(url)
        assert caught.value.code == "private_address", url
        assert "allow_private_network" in caught.value.message


@pytest.mark.parametrize("host", PRIVATE_HOSTS)
def test_private_hosts_allowed_deliberately(host: str) -> None:
    check_url(f"http://{host}/hook", allow_private_network=True)


def test_octal_dotted_form_is_refused_either_way() -> None:
    # The URL parser itself rejects a leading-zero dotted quad.
    with pytest.raises(OutboundError) as caught:
        check_url("http://0177.0.0.1/")
    assert caught.value.code in {"invalid_url", "private_address"}


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://example.com:8080/hook?a=1#fragment",
        "https://exämple.com/",
        "http://8.8.8.8/",
        "http://[2606:4700:4700::1111]:8443/",
        "https://[::ffff:8.8.8.8]/",
        "http://internal.example/",  # a name passes here; its addresses are checked per call
    ],
)
def test_public_urls_pass(url: str) -> None:
    check_url(url)
