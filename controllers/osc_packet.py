"""An OSC datagram -> its messages, as (address, arguments), in the order they were packed.

Messages are decoded by python-osc's ``OscMessage``; bundles are walked here instead of by
its ``OscBundle``, which loops forever on an element with a negative size (one 20-byte packet
would stall the engine's event loop) and logs an unthrottled warning to the root logger for
each element it cannot identify, as ``OscMessage`` does for each unknown type tag. Both are
refused here first, with the reason. Bundle timetags are read past and not honoured: a
bundle's messages are meant to act at once, in order.
"""

from __future__ import annotations

from pythonosc.osc_message import OscMessage
from pythonosc.osc_message import ParseError as OscMessageParseError

BUNDLE_PREFIX = b"#bundle\x00"
BUNDLE_HEADER_BYTES = len(BUNDLE_PREFIX) + 8  # the prefix, then a 64-bit NTP timetag
MAX_BUNDLE_DEPTH = 8  # bundles inside bundles; deeper is refused, not recursed into
TYPE_TAGS = frozenset("ihfdsbrmtTFN[]")  # the argument types python-osc decodes


class MalformedPacket(ValueError):
    """A datagram that is not an OSC packet we can read; the message says why."""


def unpack(data: bytes, max_messages: int) -> list[tuple[str, tuple]]:
    """The messages of one datagram (a message, or a bundle of messages and bundles), in
    packet order; ``MalformedPacket`` if any part is malformed or there are more than
    ``max_messages``, so that a packet acts whole or not at all."""
    out: list[tuple[str, tuple]] = []
    _element(data, 0, out, max_messages)
    return out


def _element(data: bytes, depth: int, out: list, max_messages: int) -> None:
    if data.startswith(b"/"):
        if len(out) >= max_messages:
            raise MalformedPacket(f"more than {max_messages} messages in one packet")
        out.append(_message(data))
    elif data.startswith(BUNDLE_PREFIX):
        _bundle(data, depth, out, max_messages)
    else:
        raise MalformedPacket(f"{_start(data)} is neither a message ('/...') nor a bundle")


def _bundle(data: bytes, depth: int, out: list, max_messages: int) -> None:
    if depth >= MAX_BUNDLE_DEPTH:
        raise MalformedPacket(f"bundles nested more than {MAX_BUNDLE_DEPTH} deep")
    if len(data) < BUNDLE_HEADER_BYTES:
        raise MalformedPacket(f"a bundle of {len(data)} bytes has no room for its timetag")
    index = BUNDLE_HEADER_BYTES
    while index < len(data):
        if index + 4 > len(data):
            raise MalformedPacket(f"a bundle element's size is cut off at byte {index}")
        size = int.from_bytes(data[index:index + 4], "big", signed=True)
        index += 4
        if size <= 0 or index + size > len(data):
            raise MalformedPacket(f"a bundle element of {size} bytes at byte {index}, "
                                  f"with {len(data) - index} left")
        _element(data[index:index + size], depth + 1, out, max_messages)
        index += size


def _message(data: bytes) -> tuple[str, tuple]:
    address_end = data.find(b"\x00")
    if address_end < 0:
        raise MalformedPacket(f"{_start(data)}: the address has no end")
    tags_start = (address_end + 4) & ~3  # strings are padded to 4 bytes
    if tags_start < len(data):
        tags_end = data.find(b"\x00", tags_start)
        tags = data[tags_start:tags_end if tags_end >= 0 else len(data)]
        unknown = set(tags[1:].decode("ascii", "replace")) - TYPE_TAGS
        if not tags.startswith(b",") or unknown:
            raise MalformedPacket(f"{_start(data)}: type tags {_start(tags)} are not "
                                  f"',' followed by {''.join(sorted(TYPE_TAGS))}")
    try:
        message = OscMessage(data)
    except (OscMessageParseError, UnicodeDecodeError) as err:
        raise MalformedPacket(f"{_start(data)}: {err}") from None
    return message.address, tuple(message.params)


def _start(data: bytes) -> str:
    """The first bytes of a datagram, for a log line."""
    return repr(data[:32]) + ("..." if len(data) > 32 else "")
