"""Shared test fixtures: where Magenta's reference fixtures live, the JACK server, models."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the CLI does (see app/cli.py)

import pytest

_DEFAULT_FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "magenta"


def magenta_fixtures_dir() -> Path:
    return Path(os.environ.get("LATENTJAM_FIXTURES", _DEFAULT_FIXTURES))


@pytest.fixture(scope="session")
def magenta_fixtures() -> Path:
    """``../shared/fixtures/magenta`` (or $LATENTJAM_FIXTURES); skips when absent."""
    path = magenta_fixtures_dir()
    if not (path / "cat-mel_2bar_small" / "reference.json").is_file():
        pytest.skip(f"Magenta reference fixtures not found at {path} (set LATENTJAM_FIXTURES)")
    return path


@pytest.fixture(scope="session")
def multiperf_fixture() -> Path:
    """The tiny ``hier-multiperf_vel_1bar`` checkpoint and what Magenta computed with it, kept
    in the repository (its ``build_multiperf_fixtures.py`` made them in ``../shared/magenta-ref``'s
    environment)."""
    return Path(__file__).resolve().parent / "fixtures" / "magenta" / "hier-multiperf_vel_1bar_tiny"


@pytest.fixture(scope="session")
def melody_model_source(request) -> str:
    """The default melody model when it is installed, else Magenta's fixture checkpoint."""
    from latentjam.models.defaults import DEFAULT_MODEL, shipped_models

    if DEFAULT_MODEL in shipped_models():
        return DEFAULT_MODEL
    fixtures = request.getfixturevalue("magenta_fixtures")
    return str(fixtures / "cat-mel_2bar_small" / "ckpt")


@pytest.fixture(scope="session")
def melody_model(melody_model_source):
    """That model, loaded (a ``TrainedModel``)."""
    from latentjam.models.trained_model import TrainedModel

    return TrainedModel.load(melody_model_source)


# -- A private JACK dummy server for tests on real MIDI ports (tests/jack_server.py) --------


@pytest.fixture(scope="session")
def jack_server():
    """The name of a private ``jackd -d dummy`` running for the session; skips, saying why,
    where JACK is missing. This process's JACK clients (mido's UNIX_JACK backend) use it."""
    from jack_server import jack_missing_reason, running_jack_server

    reason = jack_missing_reason()
    if reason:
        pytest.skip(f"tests on real MIDI ports need a JACK server: {reason}")
    with running_jack_server() as name:
        yield name
