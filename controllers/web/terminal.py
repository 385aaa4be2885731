"""The control page's address as the terminal shows it at start: the URL, and a QR code a
tablet's camera opens (segno, drawn in half-block characters)."""

from __future__ import annotations

import io

import segno


def qr_text(url: str) -> str:
    """``url`` as a QR code in text, two rows of modules a line (white on a dark terminal)."""
    out = io.StringIO()
    segno.make(url, error="l").terminal(out=out, compact=True, border=2)
    return out.getvalue()


def banner(url: str, qr: bool) -> str:
    """What ``play`` and ``radio`` print: the URL, and the QR code when ``qr`` (a terminal)."""
    text = f"control page: {url}\n"
    return text + qr_text(url) if qr else text
