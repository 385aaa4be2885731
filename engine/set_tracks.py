"""A set's tracks made from its config and started: the same for a set played live (the
performer) and one played offline (``engine.offline``)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from latentjam.engine import commands as cmd
from latentjam.engine.blend import BlendMotion
from latentjam.engine.errors import SettingError
from latentjam.engine.groove import GrooveAmounts, GrooveTemplate
from latentjam.engine.loops import Route
from latentjam.engine.set_config import DEFAULT_CHANNELS, TrackConfig
from latentjam.engine.track import Ask, Track, TrackSettings
from latentjam.models.service import DRUMS, INSTRUMENTS, MELODY, ModelInfo


def make_track(config: TrackConfig, index: int, info: ModelInfo, ask: Ask,
               groove: GrooveTemplate | None = None, humanizer: Ask | None = None,
               humanizer_info: ModelInfo | None = None) -> Track:
    """Track ``index`` of the set, asking its model through ``ask``, with the groove
    template its ``groove`` file holds (read by whoever read the set) and, for
    ``humanize = "groovae"``, its groove model asked through ``humanizer``."""
    if config.groove is not None and groove is None:
        raise SettingError(f"tracks[{index}]: the groove {config.groove} was not read")
    if info.kind == "groove":
        raise SettingError(f'tracks[{index}]: {config.model} is a GrooVAE, which plays the feel '
                           f'of a drum track\'s loops: give it as groovae_model with humanize = '
                           f'"groovae" on a drum track')
    if config.groovae:
        if humanizer is None or humanizer_info is None:
            raise SettingError(f"tracks[{index}]: the groove model {config.groovae_model} "
                               f"was not loaded")
        if info.kind != "drums":
            raise SettingError(f'tracks[{index}]: humanize = "groovae" plays drum loops; this '
                               f"track's model is a {info.kind} model")
        if humanizer_info.kind != "groove":
            raise SettingError(f"tracks[{index}].groovae_model: {config.groovae_model} is a "
                               f"{humanizer_info.kind} model, not a GrooVAE")
    amounts = GrooveAmounts(config.groove_amount, config.groove_timing, config.groove_velocity)
    settings = TrackSettings(config.mode, config.temperature, config.walk_step, config.bars,
                             config.every, config.interpolate_steps, config.humanize,
                             blend=BlendMotion(path=config.blend_path, speed=config.blend_speed),
                             grid_size=config.grid_size, groove=groove,
                             groove_amounts=amounts)
    return Track(config.name, settings, info, ask, track_routes(config, info.kind, index),
                 config.seed, humanizer if config.groovae else None)


async def start_tracks(tracks: Sequence[Track], configs: Sequence[TrackConfig]) -> None:
    """The set's anchors encoded (first: a blend track's first loop mixes them), every
    track's first loop, then an interpolating track on its way."""
    for track, config in zip(tracks, configs, strict=True):
        for slot, path in config.anchors.items():
            await track.encode_midi(slot, str(Path(path).expanduser()))
    await asyncio.gather(*(track.first_loop() for track in tracks))
    for track, config in zip(tracks, configs, strict=True):
        if config.mode == "interpolate":
            track.apply(cmd.Interpolate(track.name, *sorted(config.anchors)[:2],
                                        config.interpolate_steps))


def audible(tracks: Sequence[Track]) -> list[bool]:
    """Which tracks sound in the next bar: the soloed ones while any is, else the unmuted."""
    soloed = any(track.settings.soloed for track in tracks)
    return [track.settings.soloed if soloed else not track.settings.muted for track in tracks]


def track_routes(track: TrackConfig, kind: str, index: int) -> dict[str, Route]:
    """Part -> route of a track: a trio's three parts, or a one-part model's channel."""
    if kind == "trio":
        if track.channel is not None:
            raise SettingError(f"tracks[{index}]: a trio track takes `channels` (melody, bass, "
                               f"drums), not `channel`")
        channels = {**DEFAULT_CHANNELS, **track.channels}
        return {part: Route(channel - 1, track.port) for part, channel in channels.items()}
    if kind == "multiperf":  # instrument n on channel n (1..8), drums on 10, or as mapped
        if track.channel is not None:
            raise SettingError(f"tracks[{index}]: a multi-instrument track takes `channels` "
                               f"(instrument1..instrument8, drums), not `channel`")
        channels = {**dict(zip(INSTRUMENTS, range(1, len(INSTRUMENTS) + 1), strict=True)),
                    DRUMS: DEFAULT_CHANNELS[DRUMS], **track.channels}
        return {part: Route(channel - 1, track.port) for part, channel in channels.items()}
    if track.channels:
        raise SettingError(f"tracks[{index}]: `channels` is for trio and multi-instrument "
                           f"models; this {kind} model takes `channel`")
    part = DRUMS if kind == "drums" else MELODY
    channel = track.channel or DEFAULT_CHANNELS[part]
    return {part: Route(channel - 1, track.port)}
