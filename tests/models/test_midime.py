"""MidiMe: gradients against finite differences, training, sampling near the user's data,
the .midime file, and personalising the shipped melody model on a few pieces."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from latentjam.models.checkpoints.native import save_weights
from latentjam.models.configs import get_config, override_hparams
from latentjam.models.encodings.converters import get_converter
from latentjam.models.errors import CheckpointError, ConfigError, NoExamplesError
from latentjam.models.inference.musicvae import MusicVAE
from latentjam.models.notesequence import Note, NoteSequence, Tempo
from latentjam.models.personalize import network
from latentjam.models.personalize.head import headed_vae
from latentjam.models.personalize.midime import (
    MidiMe,
    MidiMeConfig,
    new_parameters,
    train_midime,
)
from latentjam.models.personalize.midime_file import (
    BaseModelInfo,
    load_midime,
    read_midime_info,
    save_midime,
)
from latentjam.models.personalize.personalize import (
    PersonalizedVAE,
    load_personalized,
    personalize,
    save_personalized,
)
from latentjam.models.trained_model import TrainedModel, model_config
from latentjam.models.variables import expected_shapes

QUICK = MidiMeConfig(steps=600, seed=3)


def cluster(size: int = 32, n: int = 200, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A narrow Gaussian cluster (σ 0.1) whose centre lies ~4·√size from the origin."""
    rng = np.random.default_rng(seed)
    centre = 4.0 * rng.choice([-1.0, 1.0], size) + rng.normal(0, 0.5, size)
    return centre, (centre + 0.1 * rng.standard_normal((n, size))).astype(np.float32)


def test_gradients_match_finite_differences() -> None:
    rng = np.random.default_rng(7)
    encoder_layers, decoder_layers = (7, 5), (5, 6)
    shapes = network.parameter_shapes(8, 3, encoder_layers, decoder_layers)
    # random biases too, so that ReLUs are both on and off and every term is exercised
    params = {name: rng.normal(0, 0.6, shape) for name, shape in shapes.items()}
    x = rng.normal(0, 1.5, (5, 8))
    noise = rng.standard_normal((5, 3))
    enc, dec = network.encoder_names(encoder_layers), network.decoder_names(decoder_layers)
    beta = 0.7
    _, grads = network.loss_and_grads(params, enc, dec, x, noise, beta)
    assert set(grads) == set(params)
    step = 1e-6
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            saved = value[index]
            value[index] = saved + step
            up = network.loss_and_grads(params, enc, dec, x, noise, beta)[0].total
            value[index] = saved - step
            down = network.loss_and_grads(params, enc, dec, x, noise, beta)[0].total
            value[index] = saved
            numeric[index] = (up - down) / (2 * step)
        np.testing.assert_allclose(grads[name], numeric, rtol=1e-5, atol=1e-7, err_msg=name)


def test_loss_is_midime_loss() -> None:
    """Half the squared error summed over dimensions plus β·KL(N(μ, σ) || N(0, I))."""
    rng = np.random.default_rng(1)
    shapes = network.parameter_shapes(6, 2, (4,), (4,))
    params = {name: rng.normal(0, 0.5, shape) for name, shape in shapes.items()}
    x, noise = rng.normal(size=(3, 6)), rng.standard_normal((3, 2))
    enc, dec = network.encoder_names((4,)), network.decoder_names((4,))
    loss, _ = network.loss_and_grads(params, enc, dec, x, noise, 2.0)
    mu, sigma = network.encode(params, enc, x)
    y = network.decode(params, dec, mu + sigma * noise)
    reconstruction = np.mean(np.sum((y - x) ** 2, axis=1) / 2)
    kl = np.mean(np.sum(0.5 * (mu**2 + sigma**2 - 1) - np.log(sigma), axis=1))
    assert loss.reconstruction == pytest.approx(reconstruction)
    assert loss.kl == pytest.approx(kl)
    assert loss.total == pytest.approx(reconstruction + 2.0 * kl)


def test_training_reduces_the_loss_and_reports_progress() -> None:
    _, latents = cluster()
    calls = []
    midime = train_midime(latents, QUICK, progress=lambda *a: calls.append(a))
    untrained = MidiMe(QUICK, new_parameters(QUICK, 32))
    assert [c[:2] for c in calls] == [(s, QUICK.steps) for s in range(1, QUICK.steps + 1)]
    assert midime.training.final_loss < 0.05 * midime.training.first_loss
    assert midime.loss(latents).total < 0.05 * untrained.loss(latents).total
    assert midime.training.vectors == len(latents)


def test_training_is_deterministic_for_a_seed() -> None:
    _, latents = cluster(n=40)
    config = MidiMeConfig(steps=50, seed=11)
    a, b = train_midime(latents, config), train_midime(latents, config)
    for name in a.parameters:
        np.testing.assert_array_equal(a.parameters[name], b.parameters[name])


def test_samples_land_near_the_users_cluster() -> None:
    centre, latents = cluster()
    midime = train_midime(latents, QUICK)
    samples = midime.sample_latents(300, np.random.default_rng(5))
    assert samples.shape == (300, 32) and samples.dtype == np.float32
    prior = np.random.default_rng(6).standard_normal((300, 32))
    prior_distance = np.linalg.norm(prior - centre, axis=1).mean()  # about 23
    distance = np.linalg.norm(samples - centre, axis=1).mean()
    assert distance < 0.1 * prior_distance
    # the same test fails for a MidiMe that has not learned: it can tell
    untrained = MidiMe(QUICK, new_parameters(QUICK, 32))
    untrained_distance = np.linalg.norm(
        untrained.sample_latents(300, np.random.default_rng(5)) - centre, axis=1).mean()
    assert untrained_distance > 0.5 * prior_distance
    # encode then decode stays in the cluster too
    assert np.linalg.norm(midime.decode(midime.encode(latents)) - centre, axis=1).mean() < (
        0.1 * prior_distance)


def test_samples_of_two_clusters_land_in_one_or_the_other() -> None:
    """The small z must carry which cluster: decoding the mean alone lands between them.
    β 1 here: these clusters lie 46 apart, against the ~0.5 spread per dimension of real
    base μ's that the default β 0.2 is set for (a smaller β lets their codes drift apart,
    beyond the prior's mass, and prior samples fall between them)."""
    centre, first = cluster(n=100, seed=1)
    second = (first - 2 * centre).astype(np.float32)  # the same cluster mirrored at -centre
    midime = train_midime(np.concatenate([first, second]), MidiMeConfig(beta=1.0, seed=3))
    samples = midime.sample_latents(400, np.random.default_rng(8))
    to_first = np.linalg.norm(samples - centre, axis=1)
    to_second = np.linalg.norm(samples + centre, axis=1)
    nearest = np.minimum(to_first, to_second)
    half_way = np.linalg.norm(centre)  # the distance of the midpoint (the origin) to each
    assert np.median(nearest) < 0.25 * half_way
    assert 0.25 < np.mean(to_first < to_second) < 0.75  # both clusters are sampled


def random_base(seed: int, z_size: int = 8) -> TrainedModel:
    config = override_hparams(get_config("cat-mel_2bar_small"),
                              {"z_size": z_size, "enc_rnn_size": [12], "dec_rnn_size": [16, 16]},
                              name="cat-mel_2bar_small")
    rng = np.random.default_rng(seed)
    variables = {key: rng.uniform(-1.0, 1.0, shape).astype(np.float32)
                 for key, shape in expected_shapes(config).items()}
    return TrainedModel(config, MusicVAE(config, variables), get_converter(config),
                        source=f"random-{seed}", name=f"random-{seed}")


def test_file_round_trip_gives_identical_samples(tmp_path) -> None:
    base = random_base(0)
    _, latents = cluster(size=8, n=50)
    midime = train_midime(latents, MidiMeConfig(steps=100))
    path = save_midime(tmp_path / "band.midime", midime, BaseModelInfo.of(base, "melody"),
                       {"files": ["a.mid"]})
    loaded, info = load_midime(path, base)
    assert info == BaseModelInfo.of(base, "melody") == read_midime_info(path)
    assert info.name == "melody" and info.config_name == "cat-mel_2bar_small"
    assert loaded.config == midime.config and loaded.training == midime.training
    assert sorted(loaded.parameters) == sorted(midime.parameters)
    assert "midime/encoder/dense_0/kernel" in loaded.parameters
    np.testing.assert_array_equal(loaded.sample_latents(5, np.random.default_rng(2)),
                                  midime.sample_latents(5, np.random.default_rng(2)))
    model = load_personalized(path, base)
    assert model.vae.z_size == midime.config.latent_size
    first = model.sample(2, temperature=0.0, rng=np.random.default_rng(4))
    by_hand = TrainedModel(base.config, PersonalizedVAE(base.vae, midime), base.converter,
                           source="by hand")
    assert first == by_hand.sample(2, temperature=0.0, rng=np.random.default_rng(4))


def test_a_file_that_is_not_midime_is_refused(tmp_path) -> None:
    other = save_weights(tmp_path / "model.safetensors", {"w": np.zeros(3)}, {"config": {}})
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not a MidiMe file"):
        load_midime(other)
    with pytest.raises(CheckpointError, match=r"model\.safetensors: not a MidiMe file"):
        read_midime_info(other)
    junk = tmp_path / "junk.midime"
    junk.write_bytes(b"MThd not weights at all")
    with pytest.raises(CheckpointError, match=r"junk\.midime"):
        load_midime(junk)


def test_a_different_base_model_is_refused(tmp_path) -> None:
    base, other = random_base(0), random_base(1)
    _, latents = cluster(size=8, n=30)
    path = save_midime(tmp_path / "band.midime", train_midime(latents, MidiMeConfig(steps=5)),
                       BaseModelInfo.of(base))
    with pytest.raises(CheckpointError, match=r"band\.midime: trained on base model "
                                              r"'random-0'.*not on random-1") as err:
        load_midime(path, other)
    assert "\n" not in str(err.value)
    with pytest.raises(CheckpointError, match=r"band\.midime: trained on base model"):
        load_personalized(path, other)
    load_midime(path, base)  # its own base loads


def melody(seed: int, bars: int = 8) -> NoteSequence:
    """A random walk of eighth notes at 120 qpm (a bar lasts 2 s)."""
    rng = np.random.default_rng(seed)
    pitch, notes = 64, []
    for k in range(bars * 8):
        pitch = int(np.clip(pitch + rng.integers(-3, 4), 55, 79))
        notes.append(Note(pitch, 90, k * 0.25, k * 0.25 + 0.2))
    return NoteSequence(notes=notes, tempos=[Tempo(0.0, 120.0)], total_time=bars * 2.0)


@pytest.fixture(scope="module")
def shipped_melody() -> TrainedModel:
    return TrainedModel.load("melody")


def test_personalize_the_shipped_melody_model(shipped_melody: TrainedModel, tmp_path) -> None:
    sequences = [melody(1), melody(2, bars=4), NoteSequence(), melody(3)]
    names = ["a.mid", "b.mid", "empty.mid", "c.mid"]
    midime, report = personalize(shipped_melody, sequences, names, MidiMeConfig(steps=300))
    counts = {f.name: f.windows for f in report.files}
    assert counts["a.mid"] > counts["b.mid"] > 0 and counts["empty.mid"] == 0
    assert [f.name for f in report.skipped] == ["empty.mid"]
    assert report.skipped[0].reason == "no 2-bar melody window (empty: 1)"
    assert report.vectors == sum(counts.values()) == midime.training.vectors
    assert midime.base_z_size == shipped_melody.config.hparams.z_size
    assert midime.training.final_loss < midime.training.first_loss

    path = save_personalized(tmp_path / "band.midime", shipped_melody, midime, "melody",
                             report)
    assert read_midime_info(path).name == "mel_2bar_chorales"  # the model the kind stands for
    model = TrainedModel.load(path)  # finds its base by the name it recorded
    assert model.name == "band" and model.vae.z_size == midime.config.latent_size
    samples = model.sample(3, temperature=0.5, rng=np.random.default_rng(0), qpm=100.0)
    assert len(samples) == 3 and all(s.notes for s in samples)
    assert model.window_steps == shipped_melody.window_steps
    # through MidiMe's decoder, then the base decoder with the head refitted by personalize
    assert midime.head is not None and report.head == midime.head.summary
    headed = TrainedModel(shipped_melody.config, headed_vae(shipped_melody, midime.head),
                          shipped_melody.converter, source="by hand")
    by_hand = [headed.decode(midime.decode(small[None]), temperature=0.0)[0]
               for small in np.random.default_rng(9).standard_normal((2, 4)).astype(np.float32)]
    assert model.sample(2, temperature=0.0, rng=np.random.default_rng(9)) == by_hand

    # what the engine asks: the kind before loading, and an anchor encoded in the small space
    assert model_config(path) == shipped_melody.config
    window = shipped_melody.windows(melody(1), "a.mid")[:1]
    small = model.encode_classes(np.stack(window))
    np.testing.assert_allclose(small, midime.encode(shipped_melody.encode_classes(
        np.stack(window))), rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match=r"band\.midime: a personalized model takes its "
                                          r"base model's config"):
        TrainedModel.load(path, "cat-mel_2bar_small")


def test_a_base_given_by_path_is_found_beside_the_file(shipped_melody: TrainedModel,
                                                         tmp_path, monkeypatch) -> None:
    weights = tmp_path / "models" / "mine.safetensors"
    weights.parent.mkdir()
    weights.write_bytes(Path(shipped_melody.source).read_bytes())
    base = TrainedModel.load(weights)
    _, latents = cluster(size=base.vae.z_size, n=40)
    out = tmp_path / "sets" / "band.midime"
    out.parent.mkdir()
    monkeypatch.chdir(tmp_path)
    save_personalized(out, base, train_midime(latents, MidiMeConfig(steps=20)),
                      Path("models/mine.safetensors"))
    assert read_midime_info(out).name == "../models/mine.safetensors"
    monkeypatch.chdir(out.parent.parent.parent)  # elsewhere: the reference is the file's
    assert TrainedModel.load(out).vae.base.mu_weights[1].tolist() == \
        shipped_melody.vae.mu_weights[1].tolist()


def test_no_usable_window_anywhere_names_the_files(shipped_melody: TrainedModel) -> None:
    with pytest.raises(NoExamplesError, match=r"2 file\(s\) \(x\.mid, y\.mid\)"):
        personalize(shipped_melody, [NoteSequence(), NoteSequence()], ["x.mid", "y.mid"])


def test_many_windows_are_thinned_evenly(shipped_melody: TrainedModel, monkeypatch) -> None:
    from latentjam.models.personalize import personalize as module

    monkeypatch.setattr(module, "MAX_WINDOWS", 6)
    sequences = [melody(1), melody(2)]
    midime, report = personalize(shipped_melody, sequences, ["a.mid", "b.mid"],
                                 MidiMeConfig(steps=5))
    found = {f.name: f.windows for f in report.files}
    assert sum(found.values()) > 6 and report.vectors == midime.training.vectors == 6
