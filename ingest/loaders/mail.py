"""E-mail (.eml): the headers people search by, the body (plain text, else its HTML), and the
names of its attachments (listed, not read)."""

from __future__ import annotations

from collections.abc import Iterator
from email.message import EmailMessage, Message

from ingest.errors import UnreadableFile
from ingest.loaders.blocks import Block
from ingest.loaders.html import load_html
from ingest.normalize import clean, paragraphs, refuse_binary

_HEADERS = ("From", "To", "Cc", "Date", "Subject")


def load_eml(data: bytes) -> Iterator[Block]:
    import email
    from email import policy

    refuse_binary(data)
    message = email.message_from_bytes(data, policy=policy.default)
    if not isinstance(message, EmailMessage) or not any(message[h] for h in _HEADERS):
        raise UnreadableFile("not an e-mail message: it has none of From, To, Date, Subject")
    subject = _header(message, "Subject") or None
    yield Block("\n".join(_header_lines(message)), heading=subject)
    yield from _body(message, subject)
    names = _attachments(message)
    if names:
        yield Block("Attachments: " + ", ".join(names), heading=subject)


def _header(message: Message, name: str) -> str:
    try:
        return clean(" ".join(str(message.get(name, "")).split()))
    except Exception:  # a malformed header costs that header, not the message
        return ""


def _header_lines(message: Message) -> Iterator[str]:
    for name in _HEADERS:
        value = _header(message, name)
        if value:
            yield f"{name}: {value}"


def _body(message: EmailMessage, subject: str | None) -> Iterator[Block]:
    part = message.get_body(preferencelist=("plain", "html"))
    if not isinstance(part, EmailMessage):
        return
    text = _content(part)
    if part.get_content_subtype() == "html":
        for block in load_html(text.encode("utf-8")):
            yield Block(block.text, heading=_join(subject, block.heading))
    else:
        for para in paragraphs(text):
            yield Block(para, heading=subject)


def _content(part: EmailMessage) -> str:
    """The decoded text of a part; an unknown charset is read as UTF-8 with replacements."""
    try:
        return str(part.get_content())
    except (LookupError, UnicodeError, KeyError):
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _attachments(message: EmailMessage) -> list[str]:
    names = []
    for part in message.walk():
        if part.is_multipart() and part.get_content_type() != "message/rfc822":
            continue  # a container; a forwarded message is an attachment of its own
        name = part.get_filename()
        if name or part.get_content_disposition() == "attachment":
            names.append(clean(name or part.get_content_type()))
    return names


def _join(subject: str | None, inner: str | None) -> str | None:
    return f"{subject} > {inner}" if subject and inner else subject or inner
