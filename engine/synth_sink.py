"""A built-in synth among the output thread's sinks: FluidSynth (through pyfluidsynth) with a
General MIDI soundfont, playing what the output thread sends at its deadlines to the
system's audio (JACK, PipeWire/PulseAudio, ALSA, CoreAudio: FluidSynth's drivers).

Notes, program changes, controllers and pitch bends reach the synth; clock and transport
messages have nothing to sound. Channel 10 plays the soundfont's drum kit, as General MIDI
wants. The synth's own audio buffer comes after the deadline (a few milliseconds). On
JACK its outputs are connected to the physical playback ports (system:playback_*) at start.
"""

from __future__ import annotations

from pathlib import Path

import mido
from latentjam.engine.errors import PortError, SettingError

DRUM_CHANNEL = 9
DRUM_BANK = 128


class SynthSink:
    def __init__(self, soundfont: str | Path, driver: str | None = None,
                 sample_rate: int = 48000, gain: float = 0.4,
                 settings: dict[str, str | int | float] | None = None) -> None:
        try:
            import fluidsynth
        except (ImportError, OSError) as err:  # the binding, or the library it loads
            raise SettingError(f"--audio needs FluidSynth's library (Debian/Ubuntu: apt-get "
                               f"install fluidsynth): {err}") from None
        self._synth = fluidsynth.Synth(gain=gain, samplerate=float(sample_rate))
        for key, value in {**({"audio.driver": driver} if driver else {}),
                           **(settings or {})}.items():
            self._synth.setting(key, value)
        if self._synth.get_setting("audio.driver") == "jack" \
                and "audio.jack.autoconnect" not in (settings or {}):
            # unconnected JACK ports are silent: to the speakers (system:playback_*), as
            # FluidSynth's other drivers play to the default device
            self._synth.setting("audio.jack.autoconnect", 1)
        # the audio driver only: no MIDI input of FluidSynth's own (the engine plays it)
        self._driver = fluidsynth.new_fluid_audio_driver(self._synth.settings,
                                                         self._synth.synth)
        if not self._driver:
            self._synth.delete()
            raise PortError(f"FluidSynth could not open the "
                            f"{driver or self._synth.get_setting('audio.driver')} audio driver")
        font = self._synth.sfload(str(soundfont))
        if font < 0:
            self.close()
            raise SettingError(f"{soundfont}: FluidSynth could not load this soundfont")
        for channel in range(16):
            self._synth.program_select(channel, font, DRUM_BANK if channel == DRUM_CHANNEL
                                       else 0, 0)
        self._font = font

    def send(self, message: mido.Message) -> None:
        kind = message.type
        if kind == "note_on" and message.velocity:
            self._synth.noteon(message.channel, message.note, message.velocity)
        elif kind in ("note_on", "note_off"):
            self._synth.noteoff(message.channel, message.note)
        elif kind == "program_change":
            bank = DRUM_BANK if message.channel == DRUM_CHANNEL else 0
            self._synth.program_select(message.channel, self._font, bank, message.program)
        elif kind == "control_change":
            self._synth.cc(message.channel, message.control, message.value)
        elif kind == "pitchwheel":
            self._synth.pitch_bend(message.channel, message.pitch)

    def close(self) -> None:
        import fluidsynth

        for channel in range(16):
            self._synth.cc(channel, 120, 0)  # all sound off
        fluidsynth.delete_fluid_audio_driver(self._driver)
        self._synth.delete()


class TeeSink:
    """Every message to two sinks: a MIDI port and the built-in synth."""

    def __init__(self, first, second) -> None:
        self.first, self.second = first, second

    def send(self, message: mido.Message) -> None:
        self.first.send(message)
        self.second.send(message)

    def close(self) -> None:
        self.first.close()
