import json

import numpy as np
import pytest
from PIL import Image

from genlab.cli import main
from genlab.data.builtin import builtin_digits
from genlab.errors import GenlabError
from genlab.metrics.feature_extractors import make_extractor
from genlab.scoring import Protocol, evaluate, protocol
from genlab.training.run import train


@pytest.fixture(autouse=True)
def stats_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("GENLAB_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def gan_run(tmp_path_factory):
    from genlab.config import build_config

    cfg = build_config("dcgan", preset="smoke", overrides=dict(width=8, z_dim=16, batch_size=16, limit=32, epochs=1, device="cpu"))
    return train(cfg, tmp_path_factory.mktemp("runs") / "gan", quiet=True)


def test_real_digits_score_as_the_classifier_says():
    result = evaluate("builtin-test", Protocol(network="builtin", n=297, splits=1))
    # by hand, from the classifier's class probabilities: IS = exp(E_x KL(p(y|x) || p(y)))
    logits = make_extractor("builtin")(builtin_digits("test").images).logits.double()
    p_yx = logits.softmax(1).numpy()
    kl = (p_yx * (np.log(p_yx) - np.log(p_yx.mean(0, keepdims=True)))).sum(1)
    assert result.metrics["is_mean"] == pytest.approx(float(np.exp(kl.mean())), rel=1e-6)
    assert result.metrics["is_mean"] > 8.5  # ten nearly equally used, confidently classified classes
    assert result.protocol["n"] == 297 and result.protocol["splits"] == 1 and result.protocol["network"] == "builtin"


def test_run_source_protocol_stamp_and_warnings(gan_run):
    result = evaluate(str(gan_run.root), Protocol(network="builtin", n=64, splits=4, reference="builtin-test", kid_subsets=5),
                      metrics=("is", "fid", "kid"))
    assert set(result.metrics) == {"is_mean", "is_std", "fid", "kid_mean", "kid_std", "diversity", "duplicates"}
    p = result.protocol
    assert p["checkpoint"] == "latest" and p["n"] == 64 and p["reference_n"] == 297 and p["kid_subset_size"] == 64
    assert len(p["weights_sha256"]) == 64 and p["resize"].startswith("bilinear 32x32")
    assert any("FID on fewer than 2,048 images" in w for w in result.warnings)
    assert any("KID subset size lowered" in w for w in result.warnings)
    # the same seed gives the same samples and so the same score
    again = evaluate(str(gan_run.root), Protocol(network="builtin", n=64, splits=4))
    assert again.metrics["is_mean"] == result.metrics["is_mean"]


def test_fid_of_a_dataset_with_itself_is_zero_and_reference_is_cached(tmp_path):
    result = evaluate("builtin-test", Protocol(network="builtin", reference="builtin-test", n=297), metrics=("fid",))
    assert result.metrics["fid"] == pytest.approx(0.0, abs=1e-6)
    # the same images as the reference: the same spread, and near-copies only where the real data has them
    assert result.metrics["diversity"] == pytest.approx(1.0) and result.metrics["duplicates"] < 0.05
    cached = list((tmp_path / "cache" / "stats").glob("builtin-builtin-test-297-*.npz"))
    assert len(cached) == 1


def test_folder_source(tmp_path):
    folder = tmp_path / "imgs"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        Image.fromarray(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8)).save(folder / f"{i}.png")
    result = evaluate(str(folder), Protocol(network="builtin", n=50, splits=3))
    assert result.protocol["n"] == 12
    assert any("50 images were asked for" in w and "scored 12" in w for w in result.warnings)
    Image.new("RGB", (40, 40)).save(folder / "z.png")
    with pytest.raises(GenlabError, match="different sizes"):
        evaluate(str(folder), Protocol(network="builtin", n=50, splits=3))


def test_clear_errors():
    with pytest.raises(GenlabError, match="give --reference"):
        evaluate("builtin", Protocol(network="builtin"), metrics=("fid",))
    with pytest.raises(GenlabError, match="unknown metric"):
        evaluate("builtin", Protocol(network="builtin"), metrics=("lpips",))
    with pytest.raises(GenlabError, match="5 images cannot make 10 splits"):
        evaluate("builtin", Protocol(network="builtin", n=5))
    with pytest.raises(GenlabError, match="unknown image source 'mnist'"):
        evaluate("mnist", Protocol(network="builtin"))
    for field, least in (("splits", 1), ("n", 1), ("kid_subset_size", 2)):  # not NaN with exit status 0
        with pytest.raises(GenlabError, match=f"--{field.replace('_', '-')} must be at least {least} \\(got {least - 1}\\)"):
            Protocol(network="builtin", **{field: least - 1})
    with pytest.raises(GenlabError, match=r"unknown network 'inception' \(did you mean 'tf-inception'\?\); choose one of"):
        protocol("paper", network="inception")
    assert protocol("assignment", n=10, splits=None) == Protocol(network="torchvision", n=10, splits=1)


def test_evaluate_and_report_commands(gan_run, tmp_path, capsys):
    out = tmp_path / "eval.json"
    assert main(["evaluate", str(gan_run.root), "--network", "builtin", "--n", "40", "--splits", "2", "--out", str(out), "--device", "cpu"]) == 0
    data = json.loads(out.read_text())
    assert data["protocol"]["n"] == 40 and "is_mean" in data["metrics"]
    report = tmp_path / "hand-in" / "inception_score.txt"
    code = main(["report", str(gan_run.root), "--network", "builtin", "--n", "40", "--splits", "2", "--real", "builtin-test",
                 "--out", str(report), "--device", "cpu"])
    assert code == 0
    lines = report.read_text().splitlines()
    assert lines[0].startswith("GAN (DCGAN):") and "Inception Score : " in lines[0] and str(gan_run.root) in lines[0]
    assert lines[1].startswith("real images (builtin-test):")
    assert "protocol: network builtin" in report.read_text()
    twin = json.loads(report.with_suffix(".json").read_text())
    assert twin[0]["model"] == "GAN (DCGAN)" and twin[1]["protocol"]["n"] == 40
    with_variety = tmp_path / "variety.txt"
    assert main(["report", str(gan_run.root), "--network", "builtin", "--n", "40", "--splits", "2", "--real", "builtin-test",
                 "--metrics", "is,precision,recall,coverage", "--out", str(with_variety), "--device", "cpu"]) == 0
    saved = json.loads(with_variety.with_suffix(".json").read_text())[0]
    from genlab.metrics.prdc import density_coverage, precision_recall

    run_pool = evaluate(str(gan_run.root), Protocol(network="builtin", n=40, splits=2), metrics=("is",)).features.pool
    real_pool = evaluate("builtin-test", Protocol(network="builtin", n=40, splits=2), metrics=("is",)).features.pool
    precision, recall = precision_recall(real_pool, run_pool)
    assert saved["metrics"]["precision"] == pytest.approx(precision) and saved["metrics"]["recall"] == pytest.approx(recall)
    assert saved["metrics"]["coverage"] == pytest.approx(density_coverage(real_pool, run_pool)[1])
    line = with_variety.read_text().splitlines()[0]
    assert line.endswith(f", precision {precision:.3f}, recall {recall:.3f}, coverage {saved['metrics']['coverage']:.3f}]")
    assert "precision, recall, coverage against the real images (builtin-test)" in with_variety.read_text()
    capsys.readouterr()
    assert main(["report", str(gan_run.root), "--network", "builtin", "--metrics", "is,recall", "--out", str(tmp_path / "x.txt")]) == 2
    assert "give --real" in capsys.readouterr().err
    assert main(["report", str(gan_run.root), "--network", "builtin", "--ceiling", "--out", str(tmp_path / "x.txt")]) == 2
    assert "name some of them in --metrics" in capsys.readouterr().err
    # --ceiling: the run's JSON row also has real images it never saw against the same real row, as evaluate gives
    # them (every held-out digit in the real row, as evaluate's reference has them)
    ceiling = tmp_path / "ceiling.txt"
    assert main(["report", str(gan_run.root), "--network", "builtin", "--n", "300", "--splits", "2", "--real", "builtin-test",
                 "--metrics", "is,recall,coverage", "--ceiling", "--out", str(ceiling), "--device", "cpu"]) == 0
    row = json.loads(ceiling.with_suffix(".json").read_text())[0]
    alone = evaluate(str(gan_run.root), Protocol(network="builtin", n=300, splits=2, reference="builtin-test"), metrics=("is", "recall", "coverage"))
    assert row["ceiling"]["n"] == alone.ceiling["n"] and row["ceiling"]["source"] == alone.ceiling["source"]
    for name in ("recall", "coverage"):
        assert row["ceiling"]["metrics"][name] == pytest.approx(alone.ceiling["metrics"][name])
        assert row["metrics"][name] == pytest.approx(alone.metrics[name])
    assert main(["download", "imagenet"]) == 2
    assert "unknown download" in capsys.readouterr().err


def test_a_run_is_compared_with_its_own_training_data_by_default(gan_run):
    result = evaluate(str(gan_run.root), Protocol(network="builtin", n=64, splits=4, kid_subsets=5), metrics=("kid",))
    assert result.protocol["reference"] == "builtin" and result.protocol["reference_n"] == 1500  # the built-in training digits
    assert result.protocol["reference_is"].startswith("the run's training data")
    explicit = evaluate(str(gan_run.root), Protocol(network="builtin", n=64, splits=4, kid_subsets=5, reference="builtin"), metrics=("kid",))
    assert explicit.metrics["kid_mean"] == pytest.approx(result.metrics["kid_mean"]) and "reference_is" not in explicit.protocol


def test_a_missing_path_is_named_before_any_network_is_loaded(monkeypatch, tmp_path):
    import genlab.scoring

    monkeypatch.setattr(genlab.scoring, "make_extractor", lambda *a, **k: pytest.fail("the network was loaded first"))
    with pytest.raises(GenlabError, match=r"runs/does-not-exist does not exist; give a run folder"):
        evaluate("runs/does-not-exist", Protocol(network="tf-inception"))
    with pytest.raises(GenlabError, match=r"unknown image source 'builtin-tset' \(did you mean 'builtin-test'\?\)"):
        evaluate("builtin-tset", Protocol(network="tf-inception"))


def test_typos_in_choices_suggest_the_closest(capsys):
    assert main(["train", "dcgan", "--loss", "wgangp", "--out", "x"]) == 2
    err = capsys.readouterr().err
    assert err.strip().splitlines() == [
        "genlab: error: unknown loss 'wgangp' (did you mean 'wgan-gp'?); choose one of ['gan', 'lsgan', 'wgan', 'wgan-gp']"
    ]
