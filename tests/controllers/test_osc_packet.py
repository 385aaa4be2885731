"""Datagrams -> messages: bundles in packet order, and the packets python-osc's own bundle
parser hangs on or logs floods about, refused with a reason."""

import logging
import struct
import threading

import pytest
from latentjam.controllers.osc_packet import MalformedPacket, unpack
from latentjam.controllers.osc_server import encode
from pythonosc.osc_bundle_builder import OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

IMMEDIATELY = 0
LATER = 2.0e9  # a timetag in the future (2033): not honoured, the message acts in its place


def bundle(*contents, timetag=IMMEDIATELY):
    builder = OscBundleBuilder(timetag)
    for content in contents:
        builder.add_content(content)
    return builder.build()


def message(address, *args):
    builder = OscMessageBuilder(address)
    for arg in args:
        builder.add_arg(arg)
    return builder.build()


def raw_bundle(*elements: bytes) -> bytes:
    return b"#bundle\x00" + bytes(7) + b"\x01" + b"".join(
        struct.pack(">i", len(e)) + e for e in elements)


def test_a_message_with_every_argument_type():
    data = encode("/a/b", (1, 2.5, "x", b"\x01\x02", True, False, None))
    [(address, args)] = unpack(data, 64)
    assert address == "/a/b"
    assert args[0] == 1 and args[1] == 2.5 and args[2:] == ("x", b"\x01\x02", True, False, None)


def test_bundles_give_their_messages_in_packet_order_whatever_the_timetags():
    late = bundle(message("/2"), message("/3"), timetag=LATER)
    packet = bundle(message("/1"), late, message("/4"), bundle(message("/5")))
    assert [address for address, _ in unpack(packet.dgram, 64)] == ["/1", "/2", "/3", "/4", "/5"]


def test_an_empty_bundle_has_no_messages():
    assert unpack(bundle().dgram, 64) == []


def unpack_in_a_thread(data):
    """unpack() in a daemon thread: a parser stuck in a loop leaves the thread alive."""
    result = {}

    def work():
        try:
            result["value"] = unpack(data, 64)
        except Exception as err:
            result["error"] = err

    thread = threading.Thread(target=work, daemon=True)
    thread.start()
    thread.join(10.0)
    assert not thread.is_alive(), "unpack never returned"
    return result


@pytest.mark.parametrize("data, reason", [
    (raw_bundle() + struct.pack(">i", -4), "element of -4 bytes"),  # python-osc loops here
    (raw_bundle() + struct.pack(">i", 0), "element of 0 bytes"),
    (raw_bundle() + struct.pack(">i", 400) + b"/a\x00\x00", "element of 400 bytes"),
    (raw_bundle() + b"\x00\x00", "size is cut off"),
    (b"#bundle\x00\x00\x00", "no room for its timetag"),
    (raw_bundle(b"junk"), "neither a message"),
    (b"not osc", "neither a message"),
    (b"", "neither a message"),
    (b"/a\x00\x00,zzz\x00\x00\x00\x00", "type tags"),  # python-osc logs each unknown tag
    (b"/a\x00\x00xif\x00", "type tags"),
    (b"/a\x00\x00,i\x00\x00\x00\x00", "too short"),
    (b"/abc", "the address has no end"),
    (b"/\xff\xfe\x00", "can't decode"),
])
def test_malformed_packets_are_refused_with_the_reason(data, reason, caplog):
    with caplog.at_level(logging.WARNING):
        result = unpack_in_a_thread(data)
    assert isinstance(result.get("error"), MalformedPacket), result
    assert reason in str(result["error"])
    assert caplog.records == []  # nothing logged by python-osc behind our back


def test_bundles_nested_too_deep_are_refused_without_recursing():
    data = message("/deep").dgram
    for _ in range(2000):  # deeper than Python's recursion limit
        data = raw_bundle(data)
    result = unpack_in_a_thread(data)
    assert "nested more than 8 deep" in str(result["error"])
    shallow = message("/ok").dgram
    for _ in range(8):
        shallow = raw_bundle(shallow)
    assert unpack(shallow, 64) == [("/ok", ())]


def test_a_packet_with_too_many_messages_acts_not_at_all():
    many = bundle(*[message(f"/{i}") for i in range(65)])
    with pytest.raises(MalformedPacket, match="more than 64 messages"):
        unpack(many.dgram, 64)
    assert len(unpack(bundle(*[message(f"/{i}") for i in range(64)]).dgram, 64)) == 64
