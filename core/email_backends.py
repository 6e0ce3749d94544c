"""A console mail backend that people can read: `make demo` prints each mail in its terminal."""

from __future__ import annotations

from typing import Any

from django.core.mail import EmailMessage, EmailMultiAlternatives
from django.core.mail.backends.console import EmailBackend as DjangoConsoleBackend

RULE = "-" * 79


class ReadableConsoleBackend(DjangoConsoleBackend):
    """Writes the headers a person reads, then the plain-text body as it is (Django's console backend
    prints the raw MIME message, where the text may be quoted-printable and the HTML follows in
    full). The HTML part is only mentioned: it carries the same words."""

    def write_message(self, message: Any) -> None:
        assert self.stream is not None
        if not isinstance(message, EmailMessage):
            super().write_message(message)
            return
        # The message's own fields, not the MIME headers, where non-ASCII words are encoded.
        lines = [
            RULE,
            f"From: {message.from_email}",
            f"To: {', '.join(message.to)}",
            f"Subject: {message.subject}",
            "",
            message.body.rstrip(),
        ]
        alternatives = message.alternatives if isinstance(message, EmailMultiAlternatives) else []
        for content, mimetype in alternatives:
            lines.append(f"\n[+ {mimetype} part, {len(str(content))} characters]")
        lines.append(RULE)
        self.stream.write("\n".join(lines) + "\n")
