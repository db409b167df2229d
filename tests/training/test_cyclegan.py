import csv
import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from genlab.config import build_config
from genlab.data.unpaired import UnpairedImages, builtin_domains, open_domains
from genlab.data.images import InMemoryImages
from genlab.errors import GenlabError
from genlab.models.cyclegan import PatchDiscriminator, ResnetGenerator
from genlab.checkpoint import load_checkpoint
from genlab.training.cyclegan import CycleGANTrainer
from genlab.training.image_pool import ImagePool
from genlab.training.run import resume, train
from genlab.training.schedules import linear_decay_factor


def n_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_parameter_counts_of_table_2():
    assert n_params(ResnetGenerator()) == 7_837_699
    assert n_params(PatchDiscriminator()) == 2_764_737


def test_generator_layer_shapes_at_256():
    gen = ResnetGenerator()
    x = torch.zeros(1, 3, 256, 256)
    shapes = []
    for block in [*gen.down, gen.blocks, *gen.up]:
        x = block(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(64, 256, 256), (128, 128, 128), (256, 64, 64), (256, 64, 64), (128, 128, 128), (64, 256, 256), (3, 256, 256)]
    assert len(gen.blocks) == 6
    assert isinstance(gen.down[0][0], nn.ReflectionPad2d) and gen.up[0][0].output_padding == (1, 1)
    assert all(not m.affine for m in gen.modules() if isinstance(m, nn.InstanceNorm2d))


def test_discriminator_layer_shapes_at_256():
    disc = PatchDiscriminator()
    x = torch.zeros(1, 3, 256, 256)
    shapes = []
    for layer in disc.layers:
        x = layer(x)
        shapes.append(tuple(x.shape[1:]))
    assert shapes == [(64, 128, 128), (128, 64, 64), (256, 32, 32), (512, 31, 31), (1, 30, 30)]


@pytest.mark.parametrize("n_layers, params, shapes", [
    (1, 136_385, [(64, 128, 128), (128, 127, 127), (1, 126, 126)]),
    (2, 662_977, [(64, 128, 128), (128, 64, 64), (256, 63, 63), (1, 62, 62)]),
    (3, 2_764_737, [(64, 128, 128), (128, 64, 64), (256, 32, 32), (512, 31, 31), (1, 30, 30)]),
])
def test_discriminators_of_fewer_stride_2_layers(n_layers, params, shapes):
    disc = PatchDiscriminator(n_layers=n_layers)
    assert n_params(disc) == params
    x, seen = torch.zeros(1, 3, 256, 256), []
    for layer in disc.layers:
        x = layer(x)
        seen.append(tuple(x.shape[1:]))
    assert seen == shapes


def test_patch_sizes_are_pix2pix_s():
    from genlab.config import smallest_disc_image as smallest_image  # the rule the config checks image sizes with
    from genlab.models.cyclegan import patch_size

    # Isola et al. 2017: 16x16, 70x70 and 286x286 PatchGANs (1, 3 and 5 stride-2 layers)
    assert [patch_size(n) for n in (1, 2, 3, 5)] == [16, 34, 70, 286]
    for n in (1, 2, 3, 4):  # the smallest image gives one logit, one pixel less gives none
        assert PatchDiscriminator(width=2, n_layers=n)(torch.zeros(1, 3, smallest_image(n), smallest_image(n))).shape == (1, 1, 1, 1)
        with pytest.raises((RuntimeError, ValueError)):  # an empty output, or instance norm of a single value
            PatchDiscriminator(width=2, n_layers=n)(torch.zeros(1, 3, smallest_image(n) - 2, smallest_image(n) - 2))


def test_disc_layers_setting_builds_the_trainer_s_discriminators_and_is_checked_against_the_image_size():
    cfg = build_config("cyclegan", preset="smoke", overrides={"disc_layers": 2, "device": "cpu"})
    trainer = CycleGANTrainer(cfg)
    assert len(trainer.disc_a.layers) == len(trainer.disc_b.layers) == 4
    assert n_params(trainer.disc_a) == n_params(PatchDiscriminator(width=cfg.width, n_layers=2))
    with pytest.raises(GenlabError, match=r"disc_layers 4 needs images of at least 48 px to judge \(image_size is 32\); lower --disc-layers"):
        build_config("cyclegan", preset="smoke", overrides={"disc_layers": 4})
    assert build_config("cyclegan", preset="smoke", overrides={"disc_layers": 4, "image_size": 48, "load_size": 52}).disc_layers == 4


@pytest.mark.parametrize("size, patches", [(64, 6), (128, 14)])
def test_other_sizes(size, patches):
    gen, disc = ResnetGenerator(width=8, n_blocks=1), PatchDiscriminator(width=8)
    out = gen(torch.randn(1, 3, size, size))
    assert out.shape == (1, 3, size, size)
    assert disc(out).shape == (1, 1, patches, patches)


def test_unpaired_index_is_not_tied_to_b():
    a = InMemoryImages(torch.arange(20, dtype=torch.uint8).view(20, 1, 1, 1).expand(20, 3, 4, 4).contiguous())
    b = InMemoryImages(torch.arange(100, 107, dtype=torch.uint8).view(7, 1, 1, 1).expand(7, 3, 4, 4).contiguous())
    data = UnpairedImages(a, b, seed=0, preprocess="none", flip=False)
    assert len(data) == 20
    pairs = [(int(x[0, 0, 0]), int(y[0, 0, 0]) - 100) for x, y in (data[i] for i in range(20))]
    assert [p[0] for p in pairs] == list(range(20))  # A walked in order
    b_of_i = [p[1] for p in pairs]
    assert b_of_i != [i % 7 for i in range(20)]  # not B[i]
    assert len(set(b_of_i)) > 3
    data.set_epoch(1)
    assert [int(data[i][1][0, 0, 0]) - 100 for i in range(20)] != b_of_i  # a fresh draw each epoch
    data.set_epoch(0)
    assert [int(data[i][1][0, 0, 0]) - 100 for i in range(20)] == b_of_i  # and reproducible


def test_train_preprocessing_resizes_crops_and_flips():
    image = torch.randint(0, 256, (3, 50, 40), dtype=torch.uint8)
    a = InMemoryImages(image[None].expand(8, -1, -1, -1).contiguous())
    data = UnpairedImages(a, a, seed=0, load_size=36, crop_size=32)
    crops = [data[i][0] for i in range(8)]
    assert all(c.shape == (3, 32, 32) for c in crops)
    assert len({c.float().sum().item() for c in crops}) > 1  # random crops/flips differ


def test_builtin_domains_are_disjoint_renderings():
    d = builtin_domains()
    assert len(d.train_a) == 750 and len(d.train_b) == 750
    a, b = d.train_a.images.float(), d.train_b.images.float()
    assert a[:, :, 0, 0].mean() < 10 and b[:, 2, 0, 0].mean() > 200  # black vs cream background
    torch.testing.assert_close(a[:, 0], a[:, 1])  # A is grey, B is coloured
    assert not torch.equal(b[:, 0], b[:, 2])


def test_image_pool():
    pool = ImagePool(3, seed=0)
    first = torch.arange(3.0).view(3, 1, 1, 1)
    torch.testing.assert_close(pool.query(first), first)  # filling: returned as is
    out = pool.query(torch.full((50, 1, 1, 1), 9.0))
    swapped = (out != 9).sum().item()
    assert 0 < swapped <= 3  # old images come back at most once each... and some do
    torch.testing.assert_close(ImagePool(0).query(first.requires_grad_()), first)
    assert not ImagePool(0).query(first).requires_grad
    state = pool.state_dict()
    clone = ImagePool(3, seed=5)
    clone.load_state_dict(state)
    x = torch.full((10, 1, 1, 1), 4.0)
    torch.testing.assert_close(clone.query(x), pool.query(x))


def test_linear_decay_schedule():
    factors = [linear_decay_factor(e, epochs=200, decay_epochs=100) for e in range(200)]
    assert factors[:100] == [1.0] * 100
    assert factors[100] == pytest.approx(1 - 1 / 101) and factors[199] == pytest.approx(1 / 101)
    assert linear_decay_factor(5, epochs=10, decay_epochs=0) == 1.0


@pytest.fixture
def tiny_cyclegan():
    def make(**overrides):
        # summer and winter landscapes: colour images with structure, drawn only as far as the limit
        values = dict(device="cpu", data="seasons", limit=8, batch_size=2, epochs=2, decay_epochs=1, width=4, n_blocks=1, grid_size=2)
        values.update(overrides)
        return build_config("cyclegan", preset="smoke", overrides=values)

    return make


def test_losses_of_one_step_follow_the_formulas(tiny_cyclegan):
    cfg = tiny_cyclegan(pool_size=0)
    trainer = CycleGANTrainer(cfg)
    a = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    b = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    ra, rb = a.float() / 127.5 - 1, b.float() / 127.5 - 1
    with torch.no_grad():
        fake_b, fake_a = trainer.gen_a2b(ra), trainer.gen_b2a(rb)
        expected = {
            "adv_a2b": ((trainer.disc_b(fake_b) - 1) ** 2).mean(),
            "adv_b2a": ((trainer.disc_a(fake_a) - 1) ** 2).mean(),
            "cycle": 10 * ((trainer.gen_b2a(fake_b) - ra).abs().mean() + (trainer.gen_a2b(fake_a) - rb).abs().mean()),
            "identity": 5 * ((trainer.gen_a2b(rb) - rb).abs().mean() + (trainer.gen_b2a(ra) - ra).abs().mean()),
        }
    out = trainer.train_step((a, b), 1)
    for name, value in expected.items():
        torch.testing.assert_close(out[name], value, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(out["g_loss"], sum(expected.values()), rtol=1e-5, atol=1e-5)


def test_a_run_writes_grids_curves_and_resumes_exactly(tiny_cyclegan, tmp_path):
    run = train(tiny_cyclegan(), tmp_path / "run", quiet=True)
    grid = Image.open(run.images / "fakeA2B-002.png")
    assert grid.size == (2 + 2 * 34, 2 + 3 * 34)  # 2 test images; rows real | translated | reconstructed
    assert (run.images / "fakeB2A-001.png").is_file() and (run.plots / "losses.png").is_file()
    with run.history_path.open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 8 and {"g_loss", "d_a_loss", "d_b_loss", "cycle", "identity"} <= set(rows[0])
    state = load_checkpoint(run.latest)["trainer"]
    last_lr = 2e-4 * linear_decay_factor(2, epochs=2, decay_epochs=1)
    assert state["optimizers"]["generators"]["param_groups"][0]["lr"] == pytest.approx(last_lr)


def test_resume_after_a_crash_continues_exactly(tiny_cyclegan, tmp_path, break_step):
    straight = train(tiny_cyclegan(), tmp_path / "straight", quiet=True)
    break_step(CycleGANTrainer, 5)
    with pytest.raises(KeyboardInterrupt):
        train(tiny_cyclegan(), tmp_path / "crashed", quiet=True)
    break_step.mend()
    assert load_checkpoint(tmp_path / "crashed" / "checkpoints" / "latest.pt")["epoch"] == 1
    resume(tmp_path / "crashed", quiet=True)
    a = load_checkpoint(straight.latest)["trainer"]
    b = load_checkpoint(tmp_path / "crashed" / "checkpoints" / "latest.pt")["trainer"]
    for name in ("gen_a2b", "gen_b2a", "disc_a", "disc_b"):
        for key, value in a["models"][name].items():
            torch.testing.assert_close(b["models"][name][key], value, rtol=0, atol=0)
    torch.testing.assert_close(b["pools"]["a"]["images"], a["pools"]["a"]["images"], rtol=0, atol=0)
    assert b["schedulers"]["generators"] == a["schedulers"]["generators"]  # the decayed rate was not reset
    assert b["optimizers"]["generators"]["param_groups"][0]["lr"] == a["optimizers"]["generators"]["param_groups"][0]["lr"]


def test_layout_errors(tmp_path):
    with pytest.raises(GenlabError, match="does not exist"):
        open_domains(str(tmp_path / "nope"))
    (tmp_path / "ds" / "trainA").mkdir(parents=True)
    with pytest.raises(GenlabError, match="has no trainA/ and trainB/ folders"):
        open_domains(str(tmp_path / "ds"))
    (tmp_path / "ds" / "trainB").mkdir()
    with pytest.raises(GenlabError, match="trainA holds no images"):
        open_domains(str(tmp_path / "ds"))
    with pytest.raises(GenlabError, match="give both --domain-a DIR and --domain-b DIR"):
        open_domains("builtin", domain_a=str(tmp_path))


def _folder(path, n, size):
    path.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).save(path / f"{i:03d}.png")


def test_two_folders_with_held_out_test_and_small_images(tmp_path, tiny_cyclegan):
    _folder(tmp_path / "cartoon", 10, 40)
    _folder(tmp_path / "animation", 12, 40)
    domains = open_domains("", domain_a=str(tmp_path / "cartoon"), domain_b=str(tmp_path / "animation"), test_fraction=0.2)
    assert (len(domains.train_a), len(domains.test_a), len(domains.train_b), len(domains.test_b)) == (8, 2, 10, 2)
    cfg = tiny_cyclegan(data="", domain_a=str(tmp_path / "cartoon"), domain_b=str(tmp_path / "animation"),
                        preprocess="none", image_size=64, load_size=64)
    with pytest.raises(GenlabError, match=r"000.png is 40x40, smaller than --image-size 64"):
        train(cfg, tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()


@pytest.fixture
def cyclegan_run(tiny_cyclegan, tmp_path):
    return train(tiny_cyclegan(epochs=1, decay_epochs=0), tmp_path / "cg", quiet=True)


def test_translate_command_keeps_names_and_sizes(cyclegan_run, tmp_path, capsys):
    from genlab.cli import main

    _folder(tmp_path / "in" / "sub", 3, 48)
    code = main(["translate", str(cyclegan_run.root), "--direction", "b2a", "--input", str(tmp_path / "in"),
                 "--output", str(tmp_path / "out"), "--device", "cpu"])
    assert code == 0
    outs = sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png"))
    assert outs == ["sub/000.png", "sub/001.png", "sub/002.png"]
    assert Image.open(tmp_path / "out" / "sub" / "000.png").size == (32, 32)
    code = main(["translate", str(cyclegan_run.root), "--direction", "a2b", "--input", str(tmp_path / "in"),
                 "--output", str(tmp_path / "full"), "--full-resolution", "--device", "cpu"])
    assert code == 0 and Image.open(tmp_path / "full" / "sub" / "000.png").size == (48, 48)
    capsys.readouterr()
    assert main(["sample", str(cyclegan_run.root), "--out", str(tmp_path / "x.png"), "--device", "cpu"]) == 2
    assert "use 'genlab translate'" in capsys.readouterr().err
    assert main(["translate", str(cyclegan_run.root), "--direction", "sideways", "--input", str(tmp_path / "in"), "--output", "x"]) == 2
    assert "unknown direction 'sideways'" in capsys.readouterr().err


def test_is_of_the_test_set_translated_b_to_a(cyclegan_run):
    from genlab.scoring import Protocol, evaluate

    result = evaluate(str(cyclegan_run.root), Protocol(network="builtin", n=1000, splits=1, kid_subsets=3), metrics=("is", "kid"))
    assert result.protocol["direction"] == "b2a" and result.protocol["n"] == 100  # the winter test scenes
    assert result.protocol["reference"] == "seasons: real test A" and result.protocol["reference_n"] == 100
    # the known answer, by hand: translate test B with the run's generator, classify, exp(E_x KL(p(y|x) || p(y)))
    from genlab.data.run_data import test_domains
    from genlab.data.transforms import to_uint8
    from genlab.metrics.feature_extractors import make_extractor
    from genlab.trained import load_model

    trained = load_model(cyclegan_run.root)
    test_b = torch.stack([test_domains(trained.cfg)[1][i] for i in range(100)])
    logits = make_extractor("builtin")(to_uint8(trained.model.translate(test_b, "b2a"))).logits.double()
    p_yx = logits.softmax(1).numpy()
    p_y = p_yx.mean(0, keepdims=True)
    expected = float(np.exp((p_yx * (np.log(p_yx) - np.log(p_y))).sum(1).mean()))
    assert result.metrics["is_mean"] == pytest.approx(expected, rel=1e-5)
    with pytest.raises(GenlabError, match="unknown direction 'sideways'; choose one of"):
        evaluate(str(cyclegan_run.root), Protocol(network="builtin", direction="sideways"))


def test_download_by_name_from_a_local_server(tmp_path):
    import functools
    import http.server
    import io
    import threading
    import zipfile

    from genlab.data.cyclegan_datasets import fetch_cyclegan_dataset

    served = tmp_path / "served"
    served.mkdir()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for part in ("trainA", "trainB", "testA", "testB"):
            image = io.BytesIO()
            Image.new("RGB", (8, 8), (10, 20, 30)).save(image, format="PNG")
            z.writestr(f"mini/{part}/0.png", image.getvalue())
    (served / "mini.zip").write_bytes(buffer.getvalue())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        folder = fetch_cyclegan_dataset("mini", tmp_path / "data", base_url=f"http://127.0.0.1:{server.server_address[1]}")
    finally:
        server.shutdown()
        server.server_close()
    assert folder == tmp_path / "data" / "cyclegan" / "mini"
    assert all((folder / part / "0.png").is_file() for part in ("trainA", "trainB", "testA", "testB"))
    assert (tmp_path / "data" / "cyclegan" / "mini.zip.sha256").read_text().split()[1] == "mini.zip"
    domains = open_domains("mini", data_root=str(tmp_path / "data"))
    assert len(domains.train_a) == 1 and len(domains.test_b) == 1


def test_download_offline_names_url_and_folder(tmp_path):
    from genlab.data.cyclegan_datasets import fetch_cyclegan_dataset

    with pytest.raises(GenlabError) as info:
        fetch_cyclegan_dataset("horse2zebra", tmp_path, base_url="http://127.0.0.1:9")
    message = str(info.value)
    assert "http://127.0.0.1:9/horse2zebra.zip" in message and f"unpack it into {tmp_path / 'cyclegan'}" in message
    with pytest.raises(GenlabError, match="unknown CycleGAN dataset 'cats2dogs'"):
        fetch_cyclegan_dataset("cats2dogs", tmp_path)


def test_scores_during_training_translate_the_test_set(tiny_cyclegan, tmp_path):
    run = train(tiny_cyclegan(epochs=1, decay_epochs=0, eval_every=1, eval_n=20), tmp_path / "scored", quiet=True)
    with run.history_path.open() as f:
        scored = [row for row in csv.DictReader(f) if row.get("is_mean")]
    assert len(scored) == 1 and 1.0 <= float(scored[0]["is_mean"]) <= 10.0  # 10 classes bound the IS
    assert (run.plots / "scores.png").is_file() and (run.checkpoints / "best.pt").is_file()


def test_resume_with_a_new_learning_rate_reaches_the_optimisers(tiny_cyclegan, tmp_path):
    run = train(tiny_cyclegan(epochs=1, decay_epochs=0), tmp_path / "run", quiet=True)
    resume(run.root, {"epochs": 2, "lr": 1e-3}, quiet=True)
    state = load_checkpoint(run.latest)["trainer"]
    for name in ("generators", "discriminators"):
        assert state["optimizers"][name]["param_groups"][0]["lr"] == pytest.approx(1e-3)  # a constant schedule


def test_a_truncated_image_is_skipped_before_training_not_met_mid_epoch(tmp_path, tiny_cyclegan):
    from genlab.data.images import GenlabWarning, ImageFolder

    _folder(tmp_path / "a", 6, 40)
    _folder(tmp_path / "b", 6, 40)
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 255, (40, 40, 3), dtype=np.uint8)).save(tmp_path / "a" / "broken.jpg")
    whole = (tmp_path / "a" / "broken.jpg").read_bytes()
    (tmp_path / "a" / "broken.jpg").write_bytes(whole[: len(whole) // 2])  # a good header, half the data
    assert len(ImageFolder(tmp_path / "a")) == 7  # the header alone passes
    with pytest.raises(GenlabError, match=r"broken.jpg cannot be read \(.*\); remove or replace the file"):
        ImageFolder(tmp_path / "a")[6]  # one line, not a traceback, when met lazily
    with pytest.warns(GenlabWarning, match=r"skipped 1 unreadable image file\(s\) in .*/a"):
        domains = open_domains("", domain_a=str(tmp_path / "a"), domain_b=str(tmp_path / "b"), test_fraction=0.2)
    assert len(domains.train_a) + len(domains.test_a) == 6
    cfg = tiny_cyclegan(data="", domain_a=str(tmp_path / "a"), domain_b=str(tmp_path / "b"), image_size=32, load_size=36)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GenlabWarning)
        run = train(cfg, tmp_path / "run", quiet=True)
    assert run.latest.is_file()
