"""Files of received mail (SPEC 11 and 12): kept through the attachments' rules as any
upload is, refused parts skipped with a reason, the original mail kept as a download,
and nothing stored for a mail that is refused. Through the built-in SMTP receiver (a
real smtplib client) and POST /v1/inbound/email, on SQLite and PostgreSQL."""

from __future__ import annotations

import io
import smtplib
from email.message import EmailMessage
from typing import Any

import pytest
from PIL import Image
from sqlalchemy import func, select

from countersign.storage import attachments, mail_settings
from countersign.storage.models import Attachment, WebhookEvent
from tests.mail.conftest import DOMAIN, Mail
from tests.mail.relay import Received
from tests.mail.test_dashboard_mail import _login
from tests.server.dashboard.conftest import OWNER, add_operator, fast_passwords  # noqa: F401
from tests.webhooks.conftest import add_endpoint

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
CRLF = EmailMessage().policy.clone(linesep="\r\n")


def gps_png() -> bytes:
    """A PNG whose EXIF says where it was taken."""
    image = Image.new("RGB", (30, 20), (10, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 12.0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", exif=exif.tobytes())
    data = buffer.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # it is there to strip
    return data


def _answered(mail: Mail, user_id: str, address: str) -> tuple[str, str, Received]:
    token = mail.verified_user(user_id, address)
    conversation = mail.start_conversation(token)
    mail.answer(conversation, "Can you send a screenshot?")
    (email,) = mail.relay.wait_for(1)
    return token, conversation, email


def _send_raw(mail: Mail, raw: bytes, sender: str, to: str) -> None:
    with smtplib.SMTP("127.0.0.1", mail.smtp_port, timeout=30) as client:
        client.sendmail(sender, [to], raw)


def _widget_get(mail: Mail, token: str, file: dict[str, Any]) -> Any:
    return mail.harness.client.get(file["url"], headers=mail.harness.session_headers(token))


def _rows(mail: Mail) -> int:
    return int(
        mail.harness.backend.database.run_sync(
            lambda c: c.execute(
                select(func.count()).select_from(Attachment).where(Attachment.app_id == mail.app_id)
            ).scalar_one()
        )
    )


def test_a_reply_keeps_its_photo_stripped_its_pdf_and_the_original(mail: Mail) -> None:
    token, conversation, email = _answered(mail, "u-40", "ada@example.org")
    reply = mail.reply_to(email, "Here it is.", sender="ada@example.org")
    original_png = gps_png()
    # The parts' own types and names lie: only the bytes say what they are.
    reply.add_attachment(original_png, "application", "octet-stream", filename="screen.gif")
    reply.add_attachment(PDF, "image", "png", filename="invoice.pdf")
    raw = reply.as_bytes(policy=CRLF)
    _send_raw(mail, raw, "ada@example.org", str(reply["To"]))
    last = mail.messages(conversation)[-1]
    assert last["body"] == "Here it is."
    files = last["attachments"]
    assert [(f["name"], f["content_type"]) for f in files] == [
        ("screen.gif", "image/png"),
        ("invoice.pdf", "application/pdf"),
        ("original-mail.eml", "message/rfc822"),
    ]
    photo = _widget_get(mail, token, files[0])
    assert photo.status_code == 200
    assert photo.content != original_png
    assert not Image.open(io.BytesIO(photo.content)).getexif()  # no maker, no GPS
    assert Image.open(io.BytesIO(photo.content)).size == (30, 20)
    assert _widget_get(mail, token, files[1]).content == PDF
    kept = _widget_get(mail, token, files[2])
    assert kept.status_code == 200
    assert kept.content == raw  # byte for byte what the mail client sent
    assert kept.headers["content-type"] == "message/rfc822"
    assert kept.headers["content-disposition"].startswith("attachment;")
    assert kept.headers["x-content-type-options"] == "nosniff"
    # The team sees it in the dashboard too, as a download.
    add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    _login(mail, OWNER)
    served = mail.harness.client.get(f"/dashboard/apps/{mail.app_id}/attachments/{files[2]['id']}")
    assert served.status_code == 200
    assert served.content == raw
    assert served.headers["content-disposition"].startswith("attachment;")
    # Another contact's session does not.
    other = mail.verified_user("u-41", "bob@example.org")
    assert _widget_get(mail, other, files[2]).status_code == 404


def test_a_refused_part_is_skipped_with_a_reason_and_the_text_arrives(mail: Mail) -> None:
    _token, conversation, email = _answered(mail, "u-42", "bea@example.org")
    add_endpoint(mail.harness, "http://127.0.0.1:9/hooks", ("email.received",))
    reply = mail.reply_to(email, "See attached.", sender="bea@example.org")
    reply.add_attachment(EXE, "application", "pdf", filename="invoice.pdf.exe")
    reply.add_attachment("<html><script>alert(1)</script></html>", "html", filename="page.html")
    reply.add_attachment(PDF, "application", "pdf", filename="../../etc/real.pdf")
    mail.send(reply)
    last = mail.messages(conversation)[-1]
    assert last["body"] == (
        "See attached.\n\n[Not attached from the email: invoice.pdf.exe (a type this app "
        "does not accept); page.html (a type this app does not accept)]"
    )
    assert [f["name"] for f in last["attachments"]] == ["real.pdf", "original-mail.eml"]
    (entry,) = [e for e in mail.log() if e["direction"] == "in"]
    assert entry["status"] == "accepted"
    # The webhook names what was skipped, and carries the files as any message does.
    (event,) = mail.harness.backend.database.run_sync(
        lambda c: (
            c.execute(select(WebhookEvent.data).where(WebhookEvent.type == "email.received"))
            .scalars()
            .all()
        )
    )
    assert [item["name"] for item in event["email"]["skipped"]] == [
        "invoice.pdf.exe",
        "page.html",
    ]
    assert [f["name"] for f in event["message"]["attachments"]] == [
        "real.pdf",
        "original-mail.eml",
    ]


def test_the_apps_own_limits_apply_to_mail_as_to_uploads(mail: Mail) -> None:
    _token, conversation, email = _answered(mail, "u-43", "cy@example.org")
    mail.harness.backend.database.run_sync(
        lambda c: attachments.set_limits(c, mail.app_id, max_bytes=2000, types=["pdf", "png"])
    )
    reply = mail.reply_to(email, "Two files", sender="cy@example.org")
    reply.add_attachment(b"a,b\n1,2\n", "text", "csv", filename="data.csv")
    reply.add_attachment(PDF + b"%" * 3000, "application", "pdf", filename="big.pdf")
    reply.add_attachment(b"\x89PNG\r\n\x1a\nnot really", "image", "png", filename="fake.png")
    mail.send(reply)
    last = mail.messages(conversation)[-1]
    assert last["body"].endswith(
        "[Not attached from the email: data.csv (a type this app does not accept); "
        "big.pdf (larger than this app allows); fake.png (an image that does not decode)]"
    )
    assert [f["name"] for f in last["attachments"]] == ["original-mail.eml"]


def test_a_forged_reply_stores_no_file(mail: Mail) -> None:
    _token, _conversation, email = _answered(mail, "u-44", "dee@example.org")
    before = _rows(mail)
    forged = mail.reply_to(email, "Invoices attached", sender="mallory@evil.example")
    forged.add_attachment(gps_png(), "image", "png", filename="x.png")
    forged.add_attachment(PDF, "application", "pdf", filename="x.pdf")
    with pytest.raises(smtplib.SMTPDataError) as refused:
        mail.send(forged)
    assert refused.value.smtp_code == 550
    assert _rows(mail) == before
    (entry,) = [e for e in mail.log() if e["direction"] == "in"]
    assert entry["reason"] == "sender_mismatch"


def test_the_same_reply_delivered_twice_stores_its_files_once(mail: Mail) -> None:
    _token, conversation, email = _answered(mail, "u-45", "eve@example.org")
    reply = mail.reply_to(email, "Once", sender="eve@example.org")
    reply.add_attachment(PDF, "application", "pdf", filename="once.pdf")
    mail.send(reply)
    mail.send(reply)
    assert [m["body"] for m in mail.messages(conversation)].count("Once") == 1
    assert _rows(mail) == 2  # the PDF and the original, once


def test_a_reply_through_the_inbound_webhook_keeps_its_files(make_mail: Any) -> None:
    mail: Mail = make_mail(smtp_max_message_bytes=64 * 1024)
    token, conversation, email = _answered(mail, "u-46", "gus@example.org")
    key = mail.harness.backend.database.run_sync(
        lambda c: mail_settings.new_inbound_key(c, mail.app_id)
    )
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "message/rfc822"}
    reply = mail.reply_to(email, "By HTTP", sender="gus@example.org")
    reply.add_attachment(gps_png(), "image", "png", filename="shot.png")
    raw = reply.as_bytes()  # LF line ends, as some providers post it
    taken = mail.harness.client.post("/v1/inbound/email", content=raw, headers=headers)
    assert taken.status_code == 200, taken.text
    last = mail.messages(conversation)[-1]
    assert [f["name"] for f in last["attachments"]] == ["shot.png", "original-mail.eml"]
    shot = _widget_get(mail, token, last["attachments"][0]).content
    assert not Image.open(io.BytesIO(shot)).getexif()
    assert _widget_get(mail, token, last["attachments"][1]).content == raw
    # A forged one stores nothing; one over the receiver's size limit is 413.
    before = _rows(mail)
    forged = mail.reply_to(email, "x", sender="mallory@evil.example")
    forged.add_attachment(PDF, "application", "pdf", filename="x.pdf")
    refused = mail.harness.client.post(
        "/v1/inbound/email", content=forged.as_bytes(), headers=headers
    )
    assert refused.status_code == 403
    huge = mail.reply_to(email, "big", sender="gus@example.org")
    huge.add_attachment(PDF + b"%" * (80 * 1024), "application", "pdf", filename="big.pdf")
    too_big = mail.harness.client.post(
        "/v1/inbound/email", content=huge.as_bytes(), headers=headers
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "payload_too_large"
    assert _rows(mail) == before


def test_a_support_mail_with_an_inline_logo_and_a_file(mail: Mail) -> None:
    message = EmailMessage()
    message["From"] = "Zoe <zoe@example.org>"
    message["To"] = f"support+{mail.app_id}@{DOMAIN}"
    message["Subject"] = "Broken invoice"
    message["Message-ID"] = "<support-files@mail.example.org>"
    message.set_content("The invoice is wrong.")
    message.add_alternative('<p>The invoice is wrong.</p><img src="cid:logo@zoe">', subtype="html")
    html = message.get_payload()[1]  # type: ignore[index]
    html.add_related(gps_png(), "image", "png", cid="<logo@zoe>")
    message.add_attachment(PDF, "application", "pdf", filename="invoice.pdf")
    raw = message.as_bytes(policy=CRLF)
    _send_raw(mail, raw, "zoe@example.org", str(message["To"]))
    (conversation,) = mail.api("GET", "/v1/conversations").json()["data"]
    (first,) = mail.messages(conversation["id"])
    assert first["body"] == "Broken invoice\n\nThe invoice is wrong."
    assert [(f["name"], f["content_type"]) for f in first["attachments"]] == [
        ("attachment-1.png", "image/png"),  # the signature's logo, named for its type
        ("invoice.pdf", "application/pdf"),
        ("original-mail.eml", "message/rfc822"),
    ]
    add_operator(mail.harness, OWNER, "owner", "Olivia Owner")
    _login(mail, OWNER)
    eml = mail.harness.client.get(
        f"/dashboard/apps/{mail.app_id}/attachments/{first['attachments'][2]['id']}"
    )
    assert eml.content == raw


def test_more_files_than_a_message_carries_and_a_mail_of_files_alone(mail: Mail) -> None:
    _token, conversation, email = _answered(mail, "u-47", "hal@example.org")
    reply = mail.reply_to(email, "", sender="hal@example.org")
    for n in range(11):
        reply.add_attachment(PDF, "application", "pdf", filename=f"page{n}.pdf")
    mail.send(reply)
    last = mail.messages(conversation)[-1]
    assert len(last["attachments"]) == 10  # SPEC 11's most: nine files and the original
    assert last["attachments"][-1]["name"] == "original-mail.eml"
    assert last["body"].startswith("[Files sent by email: page0.pdf, page1.pdf,")
    assert last["body"].endswith(
        "[Not attached from the email: page9.pdf (more files than a message carries); "
        "page10.pdf (more files than a message carries)]"
    )


MALFORMED = (
    b"From: kim@example.org\r\nTo: {to}\r\nSubject: odd parts\r\n"
    b"Message-ID: <odd@mail.example.org>\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
    b"--outer\r\nContent-Type: text/plain\r\n\r\nStill readable\r\n"
    b"--outer\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
    b'Content-Disposition: attachment; filename="bad.pdf"\r\n\r\n!!!not base64 at all***\r\n'
    b"--outer\r\nContent-Type: multipart/related\r\n\r\nno boundary here\r\n"
    b"--outer\r\nContent-Type: application/pdf\r\n"
    b'Content-Disposition: attachment; filename="r\xe9sum\xe9\xff.pdf"\r\n\r\n'
    + PDF.replace(b"\n", b"\r\n")
    + b"--outer\r\nContent-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
    b"Content-Disposition: inline; filename*=utf-8''%FF%FE.png\r\n\r\niVBORw0KGgo=\r\n"
    b"--outer--\r\n"
)


def test_malformed_parts_do_not_crash(mail: Mail) -> None:
    to = f"support+{mail.app_id}@{DOMAIN}"
    _send_raw(mail, MALFORMED.replace(b"{to}", to.encode()), "kim@example.org", to)
    (conversation,) = mail.api("GET", "/v1/conversations").json()["data"]
    (first,) = mail.messages(conversation["id"])
    assert first["body"].startswith("odd parts\n\nStill readable")
    # The PDF with a Latin-1 name is kept (its name read as well as it can be); the
    # bad base64, the multipart without a boundary and the broken PNG are not files.
    (pdf, original) = first["attachments"]
    assert pdf["content_type"] == "application/pdf"
    assert pdf["name"].startswith("r")
    assert pdf["name"].endswith(".pdf")
    assert original["name"] == "original-mail.eml"
    assert "bad.pdf (a type this app does not accept)" in first["body"]
    (entry,) = [e for e in mail.log() if e["direction"] == "in"]
    assert entry["status"] == "accepted"
