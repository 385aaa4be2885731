"""A source for an Icecast server: ``icecast://source:PASSWORD@HOST:PORT/MOUNT``, the
stream's bytes sent as Icecast's SOURCE protocol wants them (HTTP Basic authentication, the
content type, then the bytes as they come), and an MP3 stream's now-playing title told
through the server's /admin/metadata (which takes the source's own credentials)."""

from __future__ import annotations

import asyncio
import base64
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from latentjam.engine.errors import SettingError

CONNECT_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class IcecastTarget:
    host: str
    port: int
    mount: str
    user: str
    password: str

    def __str__(self) -> str:  # never the password
        return f"icecast://{self.user}@{self.host}:{self.port}{self.mount}"


def parse_target(url: str) -> IcecastTarget:
    """``icecast://source:PASSWORD@HOST:PORT/MOUNT`` (the user may be left out: source)."""
    parts = urlsplit(url)
    if parts.scheme != "icecast" or not parts.hostname or not parts.path.strip("/"):
        raise SettingError(f"--stream: {url.split('@')[-1]!r} is not an Icecast target "
                           f"(icecast://source:PASSWORD@HOST:PORT/MOUNT)")
    if parts.password is None:
        raise SettingError("--stream: the source password is missing "
                           "(icecast://source:PASSWORD@HOST:PORT/MOUNT)")
    try:
        port = parts.port or 8000
    except ValueError:
        raise SettingError("--stream: the port must be a number") from None
    return IcecastTarget(parts.hostname, port, parts.path, unquote(parts.username or "source"),
                         unquote(parts.password))


def stream_target(station) -> IcecastTarget:
    """The target of a station file's ``[stream]``, its password from the environment."""
    import os

    config = station.stream
    if config is None:
        raise SettingError("--stream: give a URL (icecast://source:PASSWORD@HOST:PORT/MOUNT) "
                           "or a [stream] table in the station file")
    password = os.environ.get(config.password_env)
    if not password:
        raise SettingError(f"[stream]: set the source password in ${config.password_env}")
    return IcecastTarget(config.host, config.port, config.mount, config.user, password)


def _basic(target: IcecastTarget) -> str:
    return base64.b64encode(f"{target.user}:{target.password}".encode()).decode()


async def update_title(target: IcecastTarget, title: str) -> bool:
    """Tell the server the mount's now-playing title (MP3 carries none in the stream; an
    Ogg stream's new logical stream carries its own). False when the server did not take
    it: a missed title never stops the music."""
    query = f"mount={quote(target.mount)}&mode=updinfo&song={quote(title)}&charset=UTF-8"
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(target.host, target.port), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write((f"GET /admin/metadata?{query} HTTP/1.0\r\n"
                      f"Authorization: Basic {_basic(target)}\r\n"
                      f"User-Agent: latentjam\r\n\r\n").encode())
        await writer.drain()
        answer = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
    return answer.split()[1:2] == [b"200"]


class IcecastSource:
    """One source connection; ``send`` the stream's bytes, ``close`` at the end."""

    def __init__(self, target: IcecastTarget, content_type: str, name: str = "latentjam") -> None:
        self.target, self.content_type, self.name = target, content_type, name
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def open(self) -> None:
        target = self.target
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as err:
            raise SettingError(f"{target}: cannot connect ({err})") from None
        secret = _basic(target)
        writer.write((f"SOURCE {target.mount} HTTP/1.0\r\n"
                      f"Authorization: Basic {secret}\r\n"
                      f"Content-Type: {self.content_type}\r\n"
                      f"Ice-Name: {self.name}\r\nIce-Public: 0\r\n\r\n").encode())
        await writer.drain()
        try:
            answer = await asyncio.wait_for(reader.readline(), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as err:
            writer.close()
            raise SettingError(f"{target}: no answer ({err})") from None
        words = answer.decode("latin-1").split()
        if len(words) < 2 or words[1] != "200":
            writer.close()
            raise SettingError(f"{target}: the server refused the source: "
                               f"{answer.decode('latin-1').strip() or 'no answer'} (check "
                               f"the password and the mount)")
        self._reader, self._writer = reader, writer

    @property
    def connected(self) -> bool:
        return self._writer is not None

    async def send(self, data: bytes) -> None:
        # the server never speaks after its 200: an end of its side is the server gone
        if self._writer.is_closing() or self._reader.at_eof():
            raise ConnectionError("the server closed the connection")
        self._writer.write(data)
        await self._writer.drain()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            try:
                await self._writer.wait_closed()
            except OSError:
                pass
            self._writer = None
