"""DINOv2 and CLIP as feature networks: built from their published files' tensors (read as data) and checked
against independent implementations on the same weights and images."""

import pickle
import warnings
import zipfile
from unittest import mock

import pytest
import torch
from torch import nn

from genlab.errors import GenlabError
from genlab.metrics import weights as weights_module
from genlab.metrics.dinov2 import DinoV2
from genlab.metrics.feature_extractors import make_extractor
from genlab.metrics.torchscript import read_torchscript_tensors
from genlab.metrics.weights import WEIGHTS, WeightsSpec


def tiny_vit(img_size: int, width: int = 128, depth: int = 2):
    """timm's ViT shaped as DINOv2's (patch 14, layer scale, class-token output after the last norm), random weights."""
    timm = pytest.importorskip("timm")
    torch.manual_seed(0)
    vit = timm.models.vision_transformer.VisionTransformer(
        img_size=img_size, patch_size=14, embed_dim=width, depth=depth, num_heads=width // 64, init_values=1e-5,
        num_classes=0, global_pool="token",
    ).eval()
    for p in vit.parameters():
        nn.init.normal_(p, std=0.1)
    return vit


def dinov2_file(vit, path):
    """A state dict laid out as dinov2_vit*14_pretrain.pth (timm names its tensors as DINOv2 does; DINOv2 adds mask_token)."""
    state = dict(vit.state_dict(), mask_token=torch.zeros(1, vit.embed_dim))
    torch.save(state, path)
    return path


def test_the_dinov2_transformer_equals_timms_on_the_same_weights():
    vit = tiny_vit(56)
    state = dict(vit.state_dict(), mask_token=torch.zeros(1, 128))
    ours = DinoV2(state).eval()
    ours.load_state_dict(state)
    assert len(ours.blocks) == 2 and ours.blocks[0].heads == 2 and ours.patch == 14
    x = torch.randn(3, 3, 56, 56)
    with torch.inference_mode():
        torch.testing.assert_close(ours(x), vit(x), rtol=1e-5, atol=1e-5)


def test_the_dinov2_extractor_equals_torch_fidelitys_dinov2_preprocessing_and_model(tmp_path):
    from torch_fidelity.feature_extractor_dinov2 import FeatureExtractorDinoV2

    vit = tiny_vit(224)  # a 16 x 16 grid: what 224 px images give, so no position resampling on either side
    # torch-fidelity fetches the network's code from the hub; here the hub hands it timm's model
    with mock.patch("torch.hub.load", return_value=vit):
        reference = FeatureExtractorDinoV2("dinov2-vit-l-14", ["dinov2"])
    ours = make_extractor("dinov2", dinov2_file(vit, tmp_path / "dinov2.pth"))
    images = torch.randint(0, 256, (3, 3, 64, 64), dtype=torch.uint8)
    logits, pool = ours(images)
    (expected,) = reference(images)
    assert logits.shape == (3, 0) and pool.shape == (3, 128)
    torch.testing.assert_close(pool, expected, rtol=1e-4, atol=1e-4)


def test_dinov2_position_embeddings_are_resampled_from_518_px_to_the_224_px_grid():
    torch.manual_seed(0)
    state = dict(tiny_vit(518, width=64, depth=1).state_dict(), mask_token=torch.zeros(1, 64))
    model = DinoV2(state).eval()
    model.load_state_dict(state)
    assert model.pos_embed.shape == (1, 37 * 37 + 1, 64)
    table = model.position_embeddings(16, 16)
    assert table.shape == (1, 16 * 16 + 1, 64)
    torch.testing.assert_close(table[:, 0], model.pos_embed[:, 0])  # the class token's embedding is kept
    assert model(torch.randn(2, 3, 224, 224)).shape == (2, 64)
    # a constant grid stays constant (bicubic weights sum to one)
    with torch.no_grad():
        model.pos_embed[:, 1:] = 0.5
    torch.testing.assert_close(model.position_embeddings(16, 16)[:, 1:], torch.full((1, 256, 64), 0.5))


class TinyClip(nn.Module):
    def __init__(self):
        from torch_fidelity.feature_extractor_clip import VisionTransformer

        super().__init__()
        torch.manual_seed(0)
        self.visual = VisionTransformer(input_resolution=28, patch_size=14, width=64, layers=2, heads=1, output_dim=32)
        self.text_projection = nn.Parameter(torch.randn(16, 32))

    def forward(self, x):
        return self.visual(x)


@pytest.fixture(scope="module")
def clip_archive(tmp_path_factory):
    """A TorchScript archive laid out as OpenAI's CLIP files (a traced module with visual.* and text_projection)."""
    path = tmp_path_factory.mktemp("clip") / "clip.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.trace(TinyClip().eval(), torch.randn(1, 3, 28, 28)).save(str(path))
    return path


JIT_LOAD_DEPRECATED = "ignore:`torch.jit.load` is deprecated:FutureWarning"  # the references load the archive with it


@pytest.mark.filterwarnings(JIT_LOAD_DEPRECATED)
def test_a_torchscript_archive_is_read_as_the_state_dict_torch_jit_load_gives(clip_archive):
    ours = read_torchscript_tensors(clip_archive, "clip")
    expected = torch.jit.load(str(clip_archive)).state_dict()
    assert sorted(ours) == sorted(expected)
    for key, value in expected.items():
        torch.testing.assert_close(ours[key], value, rtol=0, atol=0)


@pytest.mark.filterwarnings(JIT_LOAD_DEPRECATED)
def test_the_clip_extractor_equals_torch_fidelitys_on_the_same_archive(clip_archive):
    from torch_fidelity.feature_extractor_clip import FeatureExtractorCLIP

    reference = FeatureExtractorCLIP("clip-vit-l-14", ["clip"], feature_extractor_weights_path=str(clip_archive)).eval()
    ours = make_extractor("clip", clip_archive)
    images = torch.randint(0, 256, (3, 3, 40, 40), dtype=torch.uint8)
    logits, pool = ours(images)
    (expected,) = reference(images)
    assert logits.shape == (3, 0) and pool.shape == (3, 32)
    torch.testing.assert_close(pool, expected, rtol=0, atol=0)
    assert "CLIP mean and std" in ours.resize


def archive_with(tmp_path, payload: bytes):
    path = tmp_path / "payload.pt"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("archive/data.pkl", payload)
        z.writestr("archive/code/__torch__.py", "raise SystemExit('code from the archive ran')\n")
    return path


class RunsCode:
    def __reduce__(self):
        import os

        return os.system, ("touch /tmp/genlab-torchscript-ran",)


def test_a_torchscript_archive_that_would_run_code_is_refused_without_running_it(tmp_path):
    path = archive_with(tmp_path, pickle.dumps({"w": RunsCode()}, protocol=2))
    with pytest.raises(GenlabError, match=r"payload.pt is not a clip weights file \(.*system is not data\)"):
        make_extractor("clip", path)
    for content, reason in ((b"not a zip", "File is not a zip file"), (pickle.dumps([1, 2]), "it holds no module")):
        bad = archive_with(tmp_path, content) if reason != "File is not a zip file" else tmp_path / "text.pt"
        if reason == "File is not a zip file":
            bad.write_bytes(content)
        with pytest.raises(GenlabError, match=reason):
            make_extractor("clip", bad)


def test_dinov2_and_clip_offline_and_uncached_name_the_file_and_the_download_command(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    for name in ("dinov2", "clip"):
        spec = WEIGHTS[name]
        monkeypatch.setitem(weights_module.WEIGHTS, name, WeightsSpec(spec.filename, "http://127.0.0.1:9/" + spec.filename,
                                                                      spec.sha256_prefix, spec.size, spec.torchscript))
        with pytest.raises(GenlabError) as info:
            make_extractor(name)
        message = str(info.value)
        assert spec.filename in message and f"genlab download weights {name}" in message and "\n" not in message


def test_a_cached_dinov2_file_of_the_wrong_size_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    cached = tmp_path / "hub" / "checkpoints" / WEIGHTS["dinov2"].filename
    cached.parent.mkdir(parents=True)
    dinov2_file(tiny_vit(56, depth=1), cached)
    with pytest.raises(GenlabError, match=r"does not match the published checksum of .*\(1,217,586,395 bytes\); delete it"):
        make_extractor("dinov2")


def test_is_needs_class_logits(tmp_path, clip_archive):
    from genlab.scoring import evaluate, protocol

    with pytest.raises(GenlabError, match="IS needs a classifier's logits; clip gives features only"):
        evaluate("builtin-test", protocol("paper", network="clip", weights=str(clip_archive), n=8), metrics=("is",))
    result = evaluate("builtin-test", protocol("paper", network="clip", weights=str(clip_archive), n=40, reference="builtin",
                                              reference_n=40, kid_subset_size=10), metrics=("fid", "kid", "precision", "recall"))
    assert result.protocol["network"] == "clip" and set(result.metrics) >= {"fid", "kid_mean", "precision", "recall"}
    assert result.metrics["fid"] > 0
