"""The anchor folders' MIDI files as a controller lists them (controllers.anchor_files), and
``/latentjam/anchors`` over real UDP: the names ``.../anchor/load`` takes, nothing outside."""

import asyncio
import os
import socket

from latentjam.controllers.anchor_files import anchor_files
from latentjam.controllers.osc_addresses import AnchorFiles, Ignored, parse
from latentjam.controllers.osc_config import OscConfig
from latentjam.controllers.osc_server import OscServer, encode
from latentjam.engine.anchor_paths import anchor_path
from pythonosc.osc_packet import OscPacket


def _tree(tmp_path):
    first, second = tmp_path / "anchors", tmp_path / "more"
    (first / "drums").mkdir(parents=True)
    second.mkdir()
    for path in (first / "riff.mid", first / "drums" / "beat.MIDI", first / "notes.txt",
                 second / "b.mid", tmp_path / "outside.mid"):
        path.write_bytes(b"MThd")
    (first / "drums" / "deeper").mkdir()
    (first / "drums" / "deeper" / "hidden.mid").write_bytes(b"MThd")
    return (str(first), str(second))


def test_the_folders_midi_files_one_level_deep_as_anchor_load_takes_them(tmp_path):
    folders = _tree(tmp_path)
    names = anchor_files(folders)
    assert names == tuple(sorted(("riff.mid", os.path.join("drums", "beat.MIDI"),
                                  os.path.join(os.path.abspath(folders[1]), "b.mid"))))
    for name in names:  # every name is one the engine's load accepts
        assert os.path.isfile(anchor_path(name, folders))
    assert anchor_files(folders, limit=1) == ("riff.mid",)
    assert anchor_files((str(tmp_path / "none"),)) == ()


def test_anchors_is_a_trigger():
    assert parse("/latentjam/anchors", ()) == AnchorFiles()
    assert parse("/latentjam/anchors", (0.0,)) == Ignored()


def test_osc_anchors_replies_with_the_names(tmp_path):
    folders = _tree(tmp_path)

    async def run():
        server = OscServer(OscConfig(port=0), lambda c: None, lambda: None,
                           anchors=lambda: anchor_files(folders))
        _, port = await server.start()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
            client.bind(("127.0.0.1", 0))
            client.setblocking(False)
            client.sendto(encode("/latentjam/anchors", ()), ("127.0.0.1", port))
            loop = asyncio.get_running_loop()
            data = await asyncio.wait_for(loop.sock_recv(client, 65536), 10)
        await server.close()
        return OscPacket(data).messages[0].message

    message = asyncio.run(run())
    assert message.address == "/latentjam/anchors"
    assert tuple(message.params) == anchor_files(folders)
