"""The decoder head: the base decoder's output layer refitted to a user's windows. Its
features against the decoder's own logits, the fit, what it changes in decodes, the
``.midime`` format 2 that stores it and the version-1 files that still load."""

from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np
import pytest
from latentjam.models.checkpoints.native import load_weights, save_weights
from latentjam.models.configs import get_config
from latentjam.models.errors import CheckpointError, InputError
from latentjam.models.evaluation import likeness
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.personalize import head as head_module
from latentjam.models.personalize.head import (
    DecoderHead,
    HeadConfig,
    base_variables,
    decoder_states,
    fit_head,
    headed_vae,
    supports_head,
)
from latentjam.models.personalize.midime import MidiMeConfig
from latentjam.models.personalize.midime_file import HEAD_PREFIX, load_midime
from latentjam.models.personalize.personalize import (
    encode_windows,
    load_personalized,
    personalize,
    save_personalized,
)
from latentjam.models.trained_model import TrainedModel

KERNEL = "decoder/output_projection/kernel"
BIAS = "decoder/output_projection/bias"


@pytest.fixture(scope="module")
def melody_model() -> TrainedModel:
    return TrainedModel.load("melody")


def arpeggios(seed: int, bars: int = 8) -> NoteSequence:
    """Sixteenth-note arpeggios leaping a fifth and an octave: lines the chorale-trained
    melody model does not play (it steps and repeats)."""
    rng = np.random.default_rng(seed)
    notes, step = [], 0.125  # a sixteenth at 120 qpm
    for bar in range(bars):
        root = int(rng.choice([48, 50, 53, 55]))
        for k, offset in enumerate([0, 7, 12, 19, 24, 19, 12, 7] * 2):
            start = (bar * 16 + k) * step
            notes.append(Note(root + offset, 90, start, start + step * 0.9))
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=bars * 2.0)


def band_windows(model: TrainedModel, seeds=(1, 2, 3)) -> list[np.ndarray]:
    windows = []
    for seed in seeds:
        windows.extend(model.distinct_windows(arpeggios(seed))[0])
    return windows


def test_states_times_the_base_layer_are_the_decoders_logits(melody_model) -> None:
    variables = base_variables(melody_model)
    decoder = head_module._decoders(melody_model.config, variables)[0]
    classes = np.stack(band_windows(melody_model)[:5])
    z = np.random.default_rng(0).standard_normal((5, melody_model.vae.z_size)).astype(
        np.float32)
    states = decoder_states(decoder, z[None], classes)
    assert states.shape == (5, classes.shape[1], melody_model.config.hparams.dec_rnn_size[-1])
    logits = states @ variables[KERNEL] + variables[BIAS]
    np.testing.assert_allclose(logits, melody_model.vae.decode_logits(z, classes),
                               rtol=1e-4, atol=1e-4)


def test_the_fit_lowers_the_loss_deterministically_and_l2_holds_it(melody_model) -> None:
    variables = base_variables(melody_model)
    classes = np.stack(band_windows(melody_model))
    z = encode_windows(melody_model, list(classes))
    calls = []
    config = HeadConfig(steps=40)
    fitted = fit_head(melody_model.config, variables, z, classes, config,
                      progress=lambda *a: calls.append(a))
    assert [c[:2] for c in calls] == [(s, 40) for s in range(1, 41)]
    summary = fitted.summary
    assert summary.windows == len(classes) and summary.steps == 40
    assert summary.final_loss < 0.7 * summary.first_loss
    again = fit_head(melody_model.config, variables, z, classes, config)
    np.testing.assert_array_equal(again.layers[KERNEL], fitted.layers[KERNEL])
    # a strong pull to the base keeps the layer where it was; the default weak one lets it move
    held = fit_head(melody_model.config, variables, z, classes, HeadConfig(steps=40, l2=1e3))
    moved = np.linalg.norm(fitted.layers[KERNEL] - variables[KERNEL])
    assert np.linalg.norm(held.layers[KERNEL] - variables[KERNEL]) < 0.1 * moved
    assert held.summary.final_loss > summary.final_loss


def test_many_windows_are_thinned_to_the_configs_limit(melody_model) -> None:
    variables = base_variables(melody_model)
    classes = np.stack(band_windows(melody_model))
    z = encode_windows(melody_model, list(classes))
    fitted = fit_head(melody_model.config, variables, z, classes,
                      HeadConfig(steps=2, max_steps=4 * classes.shape[1] + 5))
    assert len(classes) > 4 and fitted.summary.windows == 4


def test_the_head_makes_decodes_leap_like_the_windows(melody_model) -> None:
    """From the windows' own latents, greedy decodes through the base decoder step and
    repeat; through the refitted layer they take the windows' leaps and span."""
    windows = band_windows(melody_model)
    classes = np.stack(windows)
    z = encode_windows(melody_model, windows)
    fitted = fit_head(melody_model.config, base_variables(melody_model), z, classes)
    headed = TrainedModel(melody_model.config, headed_vae(melody_model, fitted),
                          melody_model.converter, source="headed")
    band = likeness.model_profile(melody_model, [melody_model.converter.to_sequence(c)
                                                 for c in classes])

    def far(model: TrainedModel) -> dict[str, float]:
        return likeness.distance(band, likeness.model_profile(model, model.decode(z)))

    before, after = far(melody_model), far(headed)
    for statistic in ("melody/interval", "melody/pitch range"):
        assert after[statistic] < 0.5 * before[statistic], statistic


def test_categorical_decoders_take_a_head_groovae_does_not(melody_model) -> None:
    assert supports_head(get_config("cat-mel_2bar_small"))
    assert supports_head(get_config("cat-drums_2bar_small"))
    assert supports_head(get_config("hierdec-trio_16bar"))
    assert not supports_head(get_config("groovae_2bar_humanize"))
    with pytest.raises(InputError, match="groovae_2bar_humanize: a decoder head is for "
                                         "categorical decoders"):
        head_module._decoders(get_config("groovae_2bar_humanize"), {})


@pytest.fixture(scope="module")
def personalized(melody_model, tmp_path_factory) -> Path:
    sequences = [arpeggios(1), arpeggios(2)]
    midime, report = personalize(melody_model, sequences, ["a.mid", "b.mid"],
                                 MidiMeConfig(steps=200), head=HeadConfig(steps=30))
    assert midime.head is not None and report.head == midime.head.summary
    return save_personalized(tmp_path_factory.mktemp("head") / "band.midime", melody_model,
                             midime, "melody", report)


def test_a_head_round_trips_through_the_file(personalized: Path, melody_model) -> None:
    variables, metadata = load_weights(personalized)
    assert metadata["format_version"] == 2
    assert metadata["head"]["config"] == HeadConfig(steps=30).to_dict()
    assert {HEAD_PREFIX + KERNEL, HEAD_PREFIX + BIAS} <= set(variables)
    midime, _ = load_midime(personalized, melody_model)
    np.testing.assert_array_equal(midime.head.layers[KERNEL], variables[HEAD_PREFIX + KERNEL])
    model = load_personalized(personalized, melody_model)
    # the loaded model decodes through the head, not through the base's layer
    small = np.random.default_rng(3).standard_normal((3, 4)).astype(np.float32)
    headed = headed_vae(melody_model, midime.head)
    expected = headed.decode(midime.decode(small))
    np.testing.assert_array_equal(model.vae.decode(small), expected)
    assert not np.array_equal(melody_model.vae.decode(midime.decode(small)), expected)


def rewrite(path: Path, out: Path, drop_head: bool = False, **changes) -> Path:
    """``path`` written again with its metadata changed (and its head's tensors dropped)."""
    variables, metadata = load_weights(path)
    if drop_head:
        variables = {k: v for k, v in variables.items() if not k.startswith(HEAD_PREFIX)}
    metadata.update(changes)
    return save_weights(out, variables, metadata)


def test_a_version_1_file_loads_as_midime_alone(personalized: Path, melody_model,
                                                tmp_path: Path) -> None:
    """What the first personalize wrote: no 'head' in the metadata, no head tensors."""
    variables, metadata = load_weights(personalized)
    del metadata["head"]
    old = tmp_path / "old.midime"
    save_weights(old, {k: v for k, v in variables.items() if not k.startswith(HEAD_PREFIX)},
                 {**metadata, "format_version": 1})
    midime, _ = load_midime(old, melody_model)
    assert midime.head is None
    model = TrainedModel.load(old)
    small = np.random.default_rng(3).standard_normal((2, 4)).astype(np.float32)
    np.testing.assert_array_equal(model.vae.decode(small),
                                  melody_model.vae.decode(midime.decode(small)))


def test_broken_heads_are_refused_in_one_line(personalized: Path, melody_model,
                                              tmp_path: Path) -> None:
    cases = {
        "no_meta.midime": (dict(head=None), r"no_meta\.midime: head/decoder/output_projection"
                                            r"/(bias|kernel) but no 'head' in its metadata"),
        "v1.midime": (dict(format_version=1), r"v1\.midime: format version 1 has no decoder "
                                              r"head, yet its metadata names one"),
        "list.midime": (dict(head=[1]), r"list\.midime: metadata 'head' must be a table"),
        "future.midime": (dict(format_version=3), r"future\.midime: MidiMe file format "
                                                  r"version 3; this latentjam reads "
                                                  r"versions 1, 2"),
    }
    for name, (changes, message) in cases.items():
        path = rewrite(personalized, tmp_path / name, **changes)
        with pytest.raises(CheckpointError, match=message) as err:
            load_midime(path, melody_model)
        assert "\n" not in str(err.value)
    _, metadata = load_weights(personalized)
    tensorless = rewrite(personalized, tmp_path / "tensorless.midime", drop_head=True)
    with pytest.raises(CheckpointError, match=r"tensorless\.midime: decoder head tensors \[\]: "
                                              r"expected a head/<decoder>/output_projection"):
        load_midime(tensorless)
    assert metadata["head"] is not None


def test_a_head_of_another_shape_is_refused(melody_model, tmp_path: Path) -> None:
    wrong = DecoderHead(HeadConfig(), {KERNEL: np.zeros((256, 91), np.float32),
                                       BIAS: np.zeros(91, np.float32)})
    with pytest.raises(CheckpointError, match=r"x\.midime: decoder head's decoder/output_"
                                              r"projection/bias is \(91,\); mel_2bar_chorales"
                                              r" needs \(90,\)"):
        head_module.check_head(wrong, melody_model.config, "x.midime")
    trio_head = DecoderHead(HeadConfig(), {KERNEL: np.zeros((256, 90), np.float32),
                                           BIAS: np.zeros(90, np.float32)})
    with pytest.raises(CheckpointError, match=r"x\.midime: decoder head's core_decoder/"):
        head_module.check_head(trio_head, get_config("hierdec-trio_16bar"), "x.midime")
    nan = DecoderHead(HeadConfig(), {KERNEL: np.full((256, 90), np.nan, np.float32),
                                     BIAS: np.zeros(90, np.float32)})
    with pytest.raises(CheckpointError, match="not finite"):
        headed_vae(melody_model, nan)


def test_personalize_without_a_head(melody_model) -> None:
    midime, report = personalize(melody_model, [arpeggios(1)], ["a.mid"],
                                 MidiMeConfig(steps=5), head=None)
    assert midime.head is None and report.head is None and report.no_head == ""


def test_a_trio_gets_a_head_per_part(tmp_path: Path) -> None:
    """The hierarchical decoder: the conductor's bar embeddings condition each part's core
    decoder; each part's output layer is refitted, and the file decodes through all three."""
    step, notes = 0.125, []
    for bar in range(16):  # a 16-bar trio: a melody of quarters, a bass, a kick
        start = bar * 16 * step
        notes += [Note(60 + (bar + k) % 12, 90, start + 4 * k * step,
                       start + (4 * k + 3) * step, 0, 0) for k in range(4)]
        notes += [Note(36 + bar % 5, 90, start, start + 8 * step, 1, 33),
                  Note(36, 90, start, start + step, 2, 0, True)]
    song = NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=32.0)
    trio = TrainedModel.load("trio")
    midime, report = personalize(trio, [song], ["trio.mid"], MidiMeConfig(steps=5),
                                 head=HeadConfig(steps=20))
    assert report.no_head == "" and report.head.windows == 1
    assert {k: v.shape for k, v in midime.head.layers.items()} == \
        head_module.head_shapes(trio.config)
    assert report.head.final_loss < report.head.first_loss
    variables = base_variables(trio)
    for name, value in midime.head.layers.items():
        assert np.abs(value - variables[name]).max() > 1e-3, name  # every part moved
    # the features are the decoder's own: times the base layers, they give its logits
    window = np.stack(trio.distinct_windows(song)[0][:1])
    z = encode_windows(trio, list(window))
    states = head_module._part_states(trio.config, variables, z, window)
    logits = np.concatenate(
        [part @ variables[f"{prefix}/output_projection/kernel"]
         + variables[f"{prefix}/output_projection/bias"]
         for part, prefix in zip(states, head_module._prefixes(trio.config), strict=True)],
        axis=-1)
    np.testing.assert_allclose(logits, trio.vae.decode_logits(z, window), rtol=1e-4,
                               atol=1e-4)
    path = save_personalized(tmp_path / "trio.midime", trio, midime, "trio", report)
    model = TrainedModel.load(path)
    small = np.zeros((1, 4), np.float32)
    np.testing.assert_allclose(model.vae.decode_logits(small, window), headed_vae(
        trio, midime.head, variables).decode_logits(midime.decode(small), window),
        rtol=1e-5, atol=1e-5)


def test_a_base_without_a_file_is_named(melody_model) -> None:
    from dataclasses import replace

    with pytest.raises(CheckpointError, match="a decoder head needs its base model's "
                                              "checkpoint, read again: nowhere.safetensors: "
                                              "not a checkpoint"):
        base_variables(replace(melody_model, source="nowhere.safetensors"))


def test_header_is_json(personalized: Path) -> None:
    """The head's notes are plain JSON in the safetensors header (no pickles)."""
    raw = personalized.read_bytes()
    size = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + size])
    assert HEAD_PREFIX + KERNEL in header


def test_a_head_on_a_magenta_tf_checkpoint(magenta_fixtures: Path, tmp_path: Path) -> None:
    """The base read again for the head from any format it loads from: Magenta's own TF
    checkpoint here, whose folder is what the model's source names."""
    base = TrainedModel.load(magenta_fixtures / "cat-mel_2bar_small" / "ckpt")
    midime, report = personalize(base, [arpeggios(1)], ["a.mid"], MidiMeConfig(steps=20),
                                 head=HeadConfig(steps=5))
    path = save_personalized(tmp_path / "tf.midime", base, midime,
                             magenta_fixtures / "cat-mel_2bar_small" / "ckpt", report)
    model = TrainedModel.load(path)
    assert load_midime(path)[0].head.summary.steps == 5
    small = np.zeros((1, 4), np.float32)
    classes = np.stack(base.distinct_windows(arpeggios(1))[0][:1])
    logits = model.vae.decode_logits(small, classes)
    np.testing.assert_allclose(logits, headed_vae(base, midime.head).decode_logits(
        midime.decode(small), classes), rtol=1e-5, atol=1e-5)
    assert np.abs(logits - base.vae.decode_logits(midime.decode(small), classes)).max() > 0.01
