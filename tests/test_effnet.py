"""EfficientNet-Lite0: a weight file mapped tensor by tensor; real photos in the right families."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from flax import nnx
from torch_legacy_writer import write_state_dict

from foxdog.data.images import decode_image, square_resize
from foxdog.errors import WeightsError
from foxdog.model import effnet

REPO = Path(__file__).resolve().parents[1]
SHARED_RAW = REPO.parent / "shared" / "foxdog-raw"
# A tiny network of the same layout: two stages, one with an expansion-1 block
# (no _expand_conv) and a residual block; the names it needs are those of any size.
TINY_STAGES = ((1, 3, 1, 1, 4, 4), (2, 5, 2, 2, 4, 6))
TINY = {"stages": TINY_STAGES, "stem": 4, "head": 8, "n_classes": 5}


def tiny_state_dict(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """The ``efficientnet_pytorch`` names and PyTorch shapes of :data:`TINY`, random values."""
    sd: dict[str, np.ndarray] = {}

    def conv_bn(conv: str, bn: str, c_out: int, c_in: int, k: int) -> None:
        sd[f"{conv}.weight"] = rng.normal(size=(c_out, c_in, k, k)).astype(np.float32)
        for stat in ("weight", "bias", "running_mean"):
            sd[f"{bn}.{stat}"] = rng.normal(size=c_out).astype(np.float32)
        sd[f"{bn}.running_var"] = rng.uniform(0.5, 2, size=c_out).astype(np.float32)
        sd[f"{bn}.num_batches_tracked"] = np.array([7], dtype=np.int64)

    conv_bn("_conv_stem", "_bn0", 4, 3, 3)
    i = 0
    for repeats, k, _stride, expand, c_in, c_out in TINY_STAGES:
        for r in range(repeats):
            c = c_in if r == 0 else c_out
            p = f"_blocks.{i}"
            if expand != 1:
                conv_bn(f"{p}._expand_conv", f"{p}._bn0", c * expand, c, 1)
            conv_bn(f"{p}._depthwise_conv", f"{p}._bn1", c * expand, 1, k)
            conv_bn(f"{p}._project_conv", f"{p}._bn2", c_out, c * expand, 1)
            i += 1
    conv_bn("_conv_head", "_bn1", 8, 6, 1)
    sd["_fc.weight"] = rng.normal(size=(5, 8)).astype(np.float32)
    sd["_fc.bias"] = rng.normal(size=5).astype(np.float32)
    return sd


def test_every_tensor_of_a_generated_file_lands_transposed_in_its_module(tmp_path: Path) -> None:
    sd = tiny_state_dict(np.random.default_rng(0))
    model = effnet.build(write_state_dict(tmp_path / "tiny.pth", sd), **TINY)
    b1 = model.blocks[1]
    expected = {
        "_conv_stem.weight": (model.stem.conv.kernel, (2, 3, 1, 0)),
        "_bn0.running_var": (model.stem.bn.var, None),
        "_blocks.0._depthwise_conv.weight": (model.blocks[0].depthwise.conv.kernel, (2, 3, 1, 0)),
        "_blocks.1._expand_conv.weight": (b1.expand.conv.kernel, (2, 3, 1, 0)),
        "_blocks.1._bn0.bias": (b1.expand.bn.bias, None),
        "_blocks.2._bn2.running_mean": (model.blocks[2].project.bn.mean, None),
        "_conv_head.weight": (model.head.conv.kernel, (2, 3, 1, 0)),
        "_bn1.weight": (model.head.bn.scale, None),
        "_fc.weight": (model.fc.kernel, (1, 0)),
        "_fc.bias": (model.fc.bias, None),
    }
    for name, (variable, axes) in expected.items():
        want = sd[name] if axes is None else sd[name].transpose(axes)
        np.testing.assert_array_equal(np.asarray(variable.get_value()), want, err_msg=name)
    # Every float tensor of the file is used exactly once: the parameter counts agree.
    n_file = sum(v.size for k, v in sd.items() if not k.endswith("num_batches_tracked"))
    n_model = sum(v.size for v in jax_leaves(nnx.state(model)))
    assert n_file == n_model
    # Only the second block of the second stage keeps its input (stride 1, same width).
    assert [b.skip for b in model.blocks] == [True, False, True]
    out = effnet.imagenet_logits(np.zeros((3, 32, 32, 3), np.uint8), model, batch_size=2)
    assert out.shape == (3, 5) and np.isfinite(out).all()


def jax_leaves(state: nnx.State) -> list[np.ndarray]:
    import jax

    return [np.asarray(x) for x in jax.tree.leaves(state)]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda sd: sd.pop("_blocks.1._bn1.running_var"), "_blocks.1._bn1.running_var missing"),
        (lambda sd: sd.update(extra=np.ones(1, np.float32)), "extra is not used"),
        (
            lambda sd: sd.update({"_fc.bias": np.ones(6, np.float32)}),
            r"_fc.bias has shape \(6,\), the model needs \(5,\)",
        ),
    ],
)
def test_a_file_that_does_not_fit_is_refused_naming_the_tensor(
    tmp_path: Path, change, message: str
) -> None:
    sd = tiny_state_dict(np.random.default_rng(1))
    change(sd)
    path = write_state_dict(tmp_path / "bad.pth", sd)
    with pytest.raises(WeightsError, match=rf"^{path}: tensor {message}"):
        effnet.build(path, **TINY)


# Photos whose ImageNet family the network gets with a wide margin (family probability
# >= 0.88 when chosen), from three sources each, so the test checks the port, not luck.
FOXES = (
    "fox/awa2_begert/fox_10001.jpg",
    "fox/awa2_begert/fox_10003.jpg",
    "fox/randomfox_ca/master__100.jpg",
)
DOGS = (
    "dog/awa2_begert/chihuahua/chihuahua_10415.jpg",
    "dog/imagewoof2_320/n02086240/train__ILSVRC2012_val_00012394.JPEG",
    "dog/miniimagenet_84px/n02089867/train__n0208986700000011.jpg",
)
FOX_CLASSES = range(277, 281)  # red fox, kit fox, Arctic fox, grey fox
DOG_CLASSES = range(151, 269)  # Chihuahua ... Mexican hairless


@pytest.fixture(scope="module")
def imagenet_model() -> effnet.EfficientNetLite0:
    return effnet.pretrained()


@pytest.mark.skipif(
    not SHARED_RAW.is_dir(),
    reason=f"{SHARED_RAW} is absent (the fox/dog photos sit beside every clone in ../shared)",
)
def test_imagenet_head_puts_real_photos_in_their_family(imagenet_model) -> None:
    paths = [SHARED_RAW / p for p in FOXES + DOGS]
    images = np.stack(
        [
            square_resize(
                decode_image(p, max_pixels=40_000_000, min_side=64, min_std=5.0).rgb,
                effnet.IMAGE_SIZE,
            )
            for p in paths
        ]
    )
    logits = effnet.imagenet_logits(images, imagenet_model, batch_size=len(images))
    prob = np.exp(logits - logits.max(axis=1, keepdims=True))
    prob /= prob.sum(axis=1, keepdims=True)
    fox_mass = prob[:, FOX_CLASSES].sum(axis=1)
    dog_mass = prob[:, DOG_CLASSES].sum(axis=1)
    top = logits.argmax(axis=1)
    n = len(FOXES)
    assert all(t in FOX_CLASSES for t in top[:n]), top
    assert all(t in DOG_CLASSES for t in top[n:]), top
    assert (fox_mass[:n] > 0.5).all() and (dog_mass[n:] > 0.5).all()
    # The pooled features are what the head sees: fc(features) reproduces the logits.
    feats = effnet.features(images, imagenet_model, batch_size=len(images))
    assert feats.shape == (len(images), effnet.FEATURES) and (feats >= 0).all()
    fc = imagenet_model.fc
    np.testing.assert_allclose(
        feats @ np.asarray(fc.kernel.get_value()) + np.asarray(fc.bias.get_value()),
        logits,
        rtol=1e-4,
        atol=1e-3,
    )


@pytest.mark.parametrize(("size", "kernel", "stride"), [(9, 3, 1), (8, 3, 2), (9, 5, 2), (6, 5, 1)])
def test_depthwise_conv_is_the_grouped_convolution(size: int, kernel: int, stride: int) -> None:
    # The shifted-product form the network uses must equal XLA's grouped convolution,
    # "SAME" padding included (odd and even sizes, strides 1 and 2), up to float rounding.
    rng = np.random.default_rng(size * kernel * stride)
    conv = nnx.Conv(
        6,
        6,
        kernel_size=(kernel, kernel),
        strides=(stride, stride),
        padding="SAME",
        feature_group_count=6,
        use_bias=False,
        rngs=nnx.Rngs(0),
    )
    x = rng.standard_normal((2, size, size, 6)).astype(np.float32)
    want = np.asarray(conv(x))
    got = np.asarray(effnet.depthwise_conv(x, conv.kernel[...], stride))
    assert got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
