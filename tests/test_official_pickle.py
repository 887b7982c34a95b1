"""Official network pickles: safe reading (no torch, nothing run) and conversion parity.

Pickles are written in the official format by `official_pickle_writer` (our own
code, no torch) from the fixture state dicts, and, where torch is installed,
by torch itself (`pickle.dumps` of real tensors and modules, as the official
training loop does), with the persistence reduce emulated under its official
name. Converted networks must reproduce the fixtures' official outputs.
"""

import hashlib
import io
import os
import pickle
import pickletools
import subprocess
import sys
import time
import tracemalloc
import types

import numpy as np
import official_pickle_writer as writer
import pytest
from test_case import TestCase
from test_case import load_fixture
from test_case import nchw_to_nhwc
from test_case import to_numpy

from keras_creps.convert import OfficialPickleError
from keras_creps.convert import UnsafePickleError
from keras_creps.convert import discriminator_from_official_pickle
from keras_creps.convert import generator_from_official_pickle
from keras_creps.convert import load_official_pickle

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY_LAYOUTS = {
    "mapping.fc0.weight": "fortran",
    "synthesis.b8.fc0.weight": "offset",
    "synthesis.b16.fc1.affine.weight": "strided",
    "mapping.w_avg": "strided",
    "synthesis.b4.input.freqs": "offset",
}
TRAINING_SET_KWARGS = {"class_name": "training.dataset.ImageFolderDataset", "path": "/data/ffhq16.zip",
                       "use_labels": False, "max_size": 70000, "xflip": True, "resolution": 16, "random_seed": 0}


def generator_state(arrays):
    return {k[2:]: v for k, v in arrays.items() if k.startswith("G/")}


def discriminator_state(arrays):
    return {k[2:]: v for k, v in arrays.items() if k.startswith("D/") and not k.startswith(("D/in/", "D/out/"))}


def augment_pipe():
    state = writer.module_state(buffers=[("p", writer.tensor(np.float32(0.25))),
                                         ("Hz_geom", writer.tensor(np.arange(12, dtype="float32")))])
    return writer.persistent("AugmentPipe", state, {"xflip": 1, "rotate90": 1})


def official_snapshot(name="creps_tiny", g_layouts=None, with_d=True):
    """The dict the official training loop pickles, built from a fixture."""
    arrays, meta = load_fixture(name)
    g = generator_state(arrays)
    g_trained = dict(g, **{"mapping.fc0.bias": g["mapping.fc0.bias"] + 1})  # G differs from G_ema
    networks = {
        "G": writer.network("Generator", g_trained, meta["G_kwargs"]),
        "G_ema": writer.network("Generator", g, meta["G_kwargs"], layouts=g_layouts),
    }
    if with_d:
        d_kwargs = dict(meta["D"]["kwargs"], block_kwargs={"freeze_layers": 0},
                        mapping_kwargs={}, epilogue_kwargs={"mbstd_group_size": 4})
        networks["D"] = writer.network("Discriminator", discriminator_state(arrays), d_kwargs)
    return writer.snapshot(networks, dict(TRAINING_SET_KWARGS), augment_pipe()), arrays, meta


@pytest.fixture(scope="module")
def tiny_pickle(tmp_path_factory):
    data, arrays, meta = official_snapshot(g_layouts=TINY_LAYOUTS)
    path = str(tmp_path_factory.mktemp("official") / "network-snapshot-000000.pkl")
    writer.write(path, data)
    return path, arrays, meta


def refusal(name, path):
    return f"refusing to load global '{name}' from {path}: only official network pickles are supported"


class TestLoadOfficialPickle(TestCase):
    @pytest.mark.parametrize("protocol", [2, 3, 4, 5])
    def test_structure_and_exact_tensors(self, tmp_path, protocol):
        data, arrays, meta = official_snapshot(g_layouts=TINY_LAYOUTS)
        path = str(tmp_path / "snapshot.pkl")
        writer.write(path, data, protocol=protocol)
        loaded = load_official_pickle(path)
        assert sorted(loaded) == ["D", "G", "G_ema", "augment_pipe", "training_set_kwargs"]
        g = loaded["G_ema"]
        assert g["class_name"] == "Generator"
        assert g["module_src_sha256"] == hashlib.sha256(writer.FAKE_MODULE_SRC.encode()).hexdigest()
        assert g["init_kwargs"] == meta["G_kwargs"]
        assert type(g["init_kwargs"]["mapping_kwargs"]) is dict  # EasyDict -> plain dict
        assert g["init_args"] == []
        expected = generator_state(arrays)
        assert list(g["state_dict"]) == list(expected)
        for key, value in expected.items():
            assert g["state_dict"][key].dtype == value.dtype
            np.testing.assert_array_equal(g["state_dict"][key], value, err_msg=key)
        np.testing.assert_array_equal(
            loaded["G"]["state_dict"]["mapping.fc0.bias"], expected["mapping.fc0.bias"] + 1)
        assert set(loaded["D"]["state_dict"]) == set(discriminator_state(arrays))
        assert loaded["D"]["init_kwargs"]["epilogue_kwargs"] == {"mbstd_group_size": 4}
        assert loaded["training_set_kwargs"] == TRAINING_SET_KWARGS
        pipe = loaded["augment_pipe"]
        assert pipe["class_name"] == "AugmentPipe" and pipe["init_kwargs"] == {"xflip": 1, "rotate90": 1}
        assert pipe["state_dict"]["p"].shape == () and pipe["state_dict"]["p"] == np.float32(0.25)

    def test_file_object_and_plain_modules(self, tiny_pickle):
        path, arrays, _ = tiny_pickle
        with open(path, "rb") as f:
            loaded = load_official_pickle(f)
        # synthesis.b4.input is a plain (non-persistent) class, decoders are torch Sequentials.
        state = loaded["G_ema"]["state_dict"]
        np.testing.assert_array_equal(state["synthesis.b4.input.coords"], arrays["G/synthesis.b4.input.coords"])
        np.testing.assert_array_equal(state["synthesis.decoder_16.3.bias"], arrays["G/synthesis.decoder_16.3.bias"])

    @pytest.mark.parametrize("dtype", ["float32", "float64", "float16", "int64", "int32", "int16", "int8",
                                       "uint8", "bool"])
    @pytest.mark.parametrize("layout", ["contiguous", "fortran", "offset", "strided"])
    def test_dtypes_and_layouts(self, tmp_path, dtype, layout):
        values = (np.arange(24).reshape(2, 3, 4) * 37 % 11 - 3).astype(dtype)
        state = writer.module_state(buffers=[("x", writer.tensor(values, layout))],
                                    parameters=[("w", writer.parameter(values[0], layout))])
        path = str(tmp_path / "t.pkl")
        writer.write(path, {"net": writer.persistent("Net", state)})
        out = load_official_pickle(path)["net"]["state_dict"]
        for key, expected in (("x", values), ("w", values[0])):
            assert out[key].dtype == expected.dtype and out[key].flags.c_contiguous
            np.testing.assert_array_equal(out[key], expected)

    def test_bfloat16_big_endian_empty_and_broadcast(self, tmp_path):
        bf16 = np.array([1.0, -2.5, 3.140625, 0.0, 65280.0], "float32")
        raw = (bf16.view(np.uint32) >> 16).astype(np.uint16)
        bf16_tensor = writer.Reduce(writer.Global("torch._utils", "_rebuild_tensor_v2"), (
            writer.storage(raw, storage_name="BFloat16Storage"), 0, (5,), (1,), False, {}))
        big = np.arange(6, dtype="float32")
        big_tensor = writer.Reduce(writer.Global("torch._utils", "_rebuild_tensor_v2"), (
            writer.storage(big, little_endian=False), 0, (2, 3), (3, 1), False, {}))
        broadcast = writer.Reduce(writer.Global("torch._utils", "_rebuild_tensor_v2"), (
            writer.storage(np.arange(3, dtype="int64")), 0, (4, 3), (0, 1), False, {}))
        state = writer.module_state(buffers=[("bf16", bf16_tensor), ("big", big_tensor), ("bcast", broadcast),
                                             ("empty", writer.tensor(np.zeros((0, 3), "float32")))])
        path = str(tmp_path / "t.pkl")
        writer.write(path, {"net": writer.persistent("Net", state)})
        out = load_official_pickle(path)["net"]["state_dict"]
        assert out["bf16"].dtype == np.float32
        np.testing.assert_array_equal(out["bf16"], bf16)
        np.testing.assert_array_equal(out["big"], big.reshape(2, 3))
        np.testing.assert_array_equal(out["bcast"], np.tile(np.arange(3), (4, 1)))
        assert out["empty"].shape == (0, 3)

    def test_tensor_view_outside_its_storage(self, tmp_path):
        bad = writer.Reduce(writer.Global("torch._utils", "_rebuild_tensor_v2"), (
            writer.storage(np.zeros(6, "float32")), 2, (2, 3), (3, 1), False, {}))
        path = str(tmp_path / "t.pkl")
        writer.write(path, {"x": bad})
        with pytest.raises(OfficialPickleError, match=r"reaches element 7 of a storage with 6 elements"):
            load_official_pickle(path)

    def test_numpy_values_and_sets(self, tmp_path):
        path = str(tmp_path / "t.pkl")
        for protocol in (2, 4):
            writer.write(path, {"a": np.arange(6, dtype=">i4").reshape(2, 3), "s": np.float64(0.5),
                                "f": np.asfortranarray(np.ones((2, 3), "float16")), "set": {1, 2},
                                "frozen": frozenset({"x"})}, protocol=protocol)
            out = load_official_pickle(path)
            np.testing.assert_array_equal(out["a"], np.arange(6).reshape(2, 3))
            assert out["s"] == 0.5 and type(out["s"]) is float
            assert out["f"].dtype == np.float16 and out["set"] == {1, 2} and out["frozen"] == frozenset({"x"})


class TestConversionParity(TestCase):
    def test_generator_matches_official_outputs(self, tiny_pickle):
        path, arrays, _ = tiny_pickle
        g = generator_from_official_pickle(path)
        self.assert_close_to_reference(
            g(arrays["in/z"]), nchw_to_nhwc(arrays["out/img_G_call_scale1"]), label="pickle G_ema img")
        self.assert_close_to_reference(g.mapping(arrays["in/z"]), arrays["out/ws"], label="pickle G_ema ws")

    def test_conditional_generator(self, tmp_path):
        data, arrays, _ = official_snapshot("creps_tiny_cond", with_d=False)
        path = str(tmp_path / "cond.pkl")
        writer.write(path, data)
        g = generator_from_official_pickle(path)
        self.assert_close_to_reference(g(arrays["in/z"], arrays["in/c"]),
                                       nchw_to_nhwc(arrays["out/img_G_call_scale1"]), label="pickle cond img")

    def test_discriminator_matches_official_logits(self, tiny_pickle):
        path, arrays, _ = tiny_pickle
        d = discriminator_from_official_pickle(path)
        logits = d.predict_on_batch(nchw_to_nhwc(arrays["D/in/real_img"]))
        self.assert_close_to_reference(logits, arrays["D/out/logits_real"], label="pickle D logits_real")

    def test_which_and_loaded_dict(self, tiny_pickle):
        path, arrays, _ = tiny_pickle
        loaded = load_official_pickle(path)
        g = generator_from_official_pickle(loaded, which="G")
        np.testing.assert_array_equal(to_numpy(g.mapping.dense_layers[0].bias), arrays["G/mapping.fc0.bias"] + 1)
        with pytest.raises(ValueError, match=r"`which` must be one of \['G_ema', 'G'\]. Received: which='D'"):
            generator_from_official_pickle(loaded, which="D")
        with pytest.raises(ValueError, match="has no network 'D'"):
            discriminator_from_official_pickle({"G": loaded["G"]})
        stylegan = dict(loaded["G"], state_dict={"synthesis.b4.const": np.zeros(3)})
        with pytest.raises(ValueError, match="not an official CREPS Generator; StyleGAN2/3 pickles"):
            generator_from_official_pickle({"G_ema": stylegan})


# ----------------------------------------------------------------------------- real torch bytes


def _install_official_names(monkeypatch, torch):
    """Registers modules named like the official ones, so that torch's pickling
    can refer to `torch_utils.persistence._reconstruct_persistent_obj`,
    `dnnlib.util.EasyDict` and `training.networks_creps.SynthesisInput`."""
    def _reconstruct_persistent_obj(meta):
        raise AssertionError("the reader must never call this")

    class EasyDict(dict):
        pass

    class SynthesisInput(torch.nn.Module):
        pass

    modules = {name: types.ModuleType(name) for name in (
        "torch_utils", "torch_utils.persistence", "dnnlib", "dnnlib.util", "training", "training.networks_creps")}
    for obj, module in ((_reconstruct_persistent_obj, "torch_utils.persistence"), (EasyDict, "dnnlib.util"),
                        (SynthesisInput, "training.networks_creps")):
        obj.__module__ = module
        obj.__qualname__ = obj.__name__
        setattr(modules[module], obj.__name__, obj)
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return _reconstruct_persistent_obj, EasyDict, SynthesisInput


def _real_torch_snapshot(monkeypatch):
    torch = pytest.importorskip("torch")
    reconstruct, EasyDict, SynthesisInput = _install_official_names(monkeypatch, torch)

    class Persistent(torch.nn.Module):
        """Reduces like a `torch_utils.persistence` class, with a fake module source."""

        def __init__(self, class_name, **kwargs):
            super().__init__()
            self.official_class_name = class_name
            self._init_args = ()
            self._init_kwargs = {k: EasyDict(v) if isinstance(v, dict) else v for k, v in kwargs.items()}
            self.weight_gain = np.float64(1 / np.sqrt(3))

        def __reduce__(self):
            meta = {"type": "class", "version": 6, "module_src": writer.FAKE_MODULE_SRC,
                    "class_name": self.official_class_name, "state": self.__getstate__()}
            return reconstruct, (meta,)

    def as_torch(name, value, layout):
        if layout == "fortran" and value.ndim == 2:
            return torch.from_numpy(np.ascontiguousarray(value.T)).t()
        if layout == "offset":
            padded = np.concatenate([np.zeros(5, value.dtype), value.reshape(-1)])
            return torch.from_numpy(padded)[5:].view(*value.shape)
        if layout == "strided" and value.ndim == 1:
            return torch.from_numpy(np.repeat(value, 2))[::2]
        return torch.from_numpy(value.copy())

    def build(class_name, state_dict, kwargs, layouts):
        root = Persistent(class_name, **kwargs)
        for name, value in state_dict.items():
            *path, leaf = name.split(".")
            module = root
            for i, part in enumerate(path):
                if part not in module._modules:
                    _, _, cls = writer._class_for(".".join(path[: i + 1]))
                    child = {"SynthesisInput": SynthesisInput, "Sequential": torch.nn.Sequential}.get(cls)
                    module.add_module(part, child() if child else Persistent(cls))
                module = module._modules[part]
            tensor = as_torch(name, value, layouts.get(name, "contiguous"))
            if leaf in ("w_avg", "freqs", "coords", "resample_filter"):
                module.register_buffer(leaf, tensor)
            else:
                module.register_parameter(leaf, torch.nn.Parameter(tensor))
        return root.eval().requires_grad_(False)

    arrays, meta = load_fixture("creps_tiny")
    g_state, d_state = generator_state(arrays), discriminator_state(arrays)
    extras = Persistent("AugmentPipe", xflip=1)
    base = torch.arange(24, dtype=torch.int64).reshape(4, 6)
    tensors = {
        "f16": torch.linspace(-3, 3, 12).half().reshape(3, 4),
        "f64": torch.linspace(-1, 1, 6, dtype=torch.float64),
        "bf16": torch.tensor([1.0, -2.5, 3.14159, 1e-3, 3e4]).bfloat16(),
        "i64_strided": base[1:, 1::2],
        "i64_transposed": base.t(),
        "i32": torch.arange(-3, 3, dtype=torch.int32),
        "u8": torch.arange(250, 256, dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "expanded": torch.arange(3.0).expand(4, 3),
        "scalar": torch.tensor(0.25),
        "empty": torch.zeros(0, 3),
    }
    for name, value in tensors.items():
        extras.register_buffer(name, value)
    extras.register_parameter("param_strided", torch.nn.Parameter(torch.linspace(0, 1, 20).reshape(4, 5)[:, ::2]))
    layouts = {"mapping.fc0.weight": "fortran", "synthesis.b8.fc0.weight": "offset", "mapping.w_avg": "strided"}
    d_kwargs = dict(meta["D"]["kwargs"], block_kwargs={"freeze_layers": 0}, epilogue_kwargs={"mbstd_group_size": 4})
    snapshot = {
        "G": build("Generator", g_state, meta["G_kwargs"], layouts),
        "D": build("Discriminator", d_state, d_kwargs, {"b4.fc.weight": "fortran"}),
        "G_ema": build("Generator", g_state, meta["G_kwargs"], layouts),
        "augment_pipe": extras.requires_grad_(False),
        "training_set_kwargs": dict(TRAINING_SET_KWARGS),
    }
    expected_extras = {k: (v.float() if v.dtype == torch.bfloat16 else v).numpy() for k, v in tensors.items()}
    expected_extras["param_strided"] = extras.param_strided.detach().numpy()
    return snapshot, arrays, meta, expected_extras


class TestRealTorchPickles(TestCase):
    @pytest.mark.parametrize("protocol", [2, pickle.DEFAULT_PROTOCOL])
    def test_torch_bytes_decode_identically(self, monkeypatch, protocol):
        snapshot, arrays, meta, expected_extras = _real_torch_snapshot(monkeypatch)
        payload = pickle.dumps(snapshot, protocol=protocol)  # exactly how the official loop saves
        monkeypatch.undo()  # the reader must not need the official names
        loaded = load_official_pickle(io.BytesIO(payload))
        g = loaded["G_ema"]
        assert g["class_name"] == "Generator" and g["init_kwargs"] == meta["G_kwargs"]
        for key, value in generator_state(arrays).items():
            assert g["state_dict"][key].dtype == value.dtype
            np.testing.assert_array_equal(g["state_dict"][key], value, err_msg=key)
        assert list(g["state_dict"]) == list(snapshot["G_ema"].state_dict())
        d = loaded["D"]["state_dict"]
        for key, value in snapshot["D"].state_dict().items():
            np.testing.assert_array_equal(d[key], value.numpy(), err_msg=key)
        extras = loaded["augment_pipe"]["state_dict"]
        assert set(extras) == set(expected_extras)
        for key, value in expected_extras.items():
            assert extras[key].dtype == value.dtype and extras[key].shape == value.shape, key
            np.testing.assert_array_equal(extras[key], value, err_msg=key)
        assert loaded["training_set_kwargs"] == TRAINING_SET_KWARGS

    def test_torch_pickle_converts_to_official_outputs(self, monkeypatch):
        snapshot, arrays, _, _ = _real_torch_snapshot(monkeypatch)
        payload = pickle.dumps(snapshot)
        monkeypatch.undo()
        g = generator_from_official_pickle(io.BytesIO(payload))
        self.assert_close_to_reference(
            g(arrays["in/z"]), nchw_to_nhwc(arrays["out/img_G_call_scale1"]), label="torch pickle G_ema img")


# ----------------------------------------------------------------------------- malicious and broken files


def _payloads(marker):
    m = str(marker)
    return {
        "os.system": writer.Reduce(writer.Global("os", "system"), (f"touch {m}",)),
        "posix.system": writer.Reduce(writer.Global("posix", "system"), (f"touch {m}",)),
        "builtins.eval": writer.Reduce(writer.Global("builtins", "eval"), (f"open({m!r}, 'w').close()",)),
        "builtins.exec": writer.Reduce(writer.Global("builtins", "exec"), (f"open({m!r}, 'w').close()",)),
        "subprocess.Popen": writer.Reduce(writer.Global("subprocess", "Popen"), (["touch", m],)),
    }


class TestRefusals(TestCase):
    def test_payload_is_live_but_refused(self, tmp_path):
        marker = tmp_path / "pwned"
        payload = writer.dumps({"G": _payloads(marker)["os.system"]})
        pickle.loads(payload)  # the plain unpickler runs it: the payload is real
        assert marker.exists()
        marker.unlink()
        path = tmp_path / "evil.pkl"
        path.write_bytes(payload)
        with pytest.raises(UnsafePickleError) as info:
            load_official_pickle(str(path))
        assert str(info.value) == refusal("os.system", path)
        assert not marker.exists()

    @pytest.mark.parametrize("name", ["os.system", "posix.system", "builtins.eval", "builtins.exec",
                                      "subprocess.Popen"])
    @pytest.mark.parametrize("protocol", [2, 4])
    def test_globals_nested_in_an_official_structure(self, tmp_path, name, protocol):
        marker = tmp_path / "pwned"
        evil = _payloads(marker)[name]
        state = writer.module_state(parameters=[("weight", writer.parameter(np.ones((2, 2), "float32")))],
                                    extra={"activation": [{"deep": (1, evil)}]})
        data, _, _ = official_snapshot(with_d=False)
        data["G_ema"] = writer.persistent("Generator", state, {"z_dim": 2})
        path = tmp_path / "evil.pkl"
        writer.write(str(path), data, protocol=protocol)
        with pytest.raises(UnsafePickleError) as info:
            load_official_pickle(path)
        assert str(info.value) == refusal(name, path)
        assert isinstance(info.value, ValueError)
        assert not marker.exists()

    def test_global_inside_storage_bytes(self, tmp_path):
        marker = tmp_path / "pwned"
        evil = _payloads(marker)["os.system"]
        obj = object()
        pid = ("storage", writer.Global("torch", "FloatStorage"), "1", "cpu", 1, None)
        inner = writer.legacy_storage_bytes(np.ones(1, "float32"))
        header_end = inner.index(b"\x80\x02(")  # start of the storage pickle
        evil_pickle = writer.dumps([evil, obj], protocol=2, persistent_ids={id(obj): pid})
        tampered = inner[:header_end] + evil_pickle + inner[inner.index(b"\x80\x02]"):]
        storage = writer.Reduce(writer.Global("torch.storage", "_load_from_bytes"), (tampered,))
        path = tmp_path / "evil.pkl"
        writer.write(str(path), {"x": storage})
        with pytest.raises(UnsafePickleError, match="refusing to load global 'os.system'"):
            load_official_pickle(path)
        assert not marker.exists()

    def test_module_source_is_never_run(self, tmp_path):
        marker = tmp_path / "pwned"
        source = f"open({str(marker)!r}, 'w').close()\nclass Generator:\n    pass\n"
        state = writer.module_state(parameters=[("weight", writer.parameter(np.ones(2, "float32")))])
        path = tmp_path / "src.pkl"
        writer.write(str(path), {"G": writer.persistent("Generator", state, module_src=source)})
        loaded = load_official_pickle(path)
        assert not marker.exists()
        assert loaded["G"]["module_src_sha256"] == hashlib.sha256(source.encode()).hexdigest()
        assert "module_src" not in loaded["G"]
        np.testing.assert_array_equal(loaded["G"]["state_dict"]["weight"], np.ones(2))

    @pytest.mark.parametrize(
        "obj, message",
        [
            (writer.Reduce(writer.Global("copyreg", "_reconstructor"), ()), "global 'copyreg._reconstructor'"),
            (writer.Reduce(writer.Global("torch._tensor", "_rebuild_from_type_v2"), ()),
             "global 'torch._tensor._rebuild_from_type_v2'"),
            (writer.Reduce(writer.Global("torch.nn.modules.linear", "Linear"), ()),
             "global 'torch.nn.modules.linear.Linear'"),
            (writer.Reduce(writer.Global("training.networks_creps", "SynthesisInput"), ("rm -rf",)),
             "refusing to call training.networks_creps.SynthesisInput with arguments"),
            (writer.Reduce(writer.Global("numpy", "dtype"), ("O8", False, True)), "refusing NumPy dtype 'O8'"),
            (writer.Reduce(writer.Global("_codecs", "encode"), ("x", "rot13")), "refusing _codecs.encode"),
            (writer.Reduce(writer.Global("training.x.y", "Z"), ()), "global 'training.x.y.Z'"),
        ],
    )
    def test_other_refused_globals(self, tmp_path, obj, message):
        path = tmp_path / "evil.pkl"
        writer.write(str(path), {"G": obj})
        with pytest.raises(UnsafePickleError, match=message):
            load_official_pickle(path)

    def test_persistent_ids(self, tmp_path):
        path = tmp_path / "pid.pkl"
        obj = object()
        path.write_bytes(writer.dumps({"G": obj}, persistent_ids={id(obj): ("module", "x")}))
        with pytest.raises(UnsafePickleError, match=r"refusing persistent id \('module', 'x'\)"):
            load_official_pickle(path)
        inner = object()
        stream = b"".join([
            pickle.dumps(writer.TORCH_MAGIC_NUMBER, protocol=2), pickle.dumps(writer.TORCH_PROTOCOL_VERSION, protocol=2),
            pickle.dumps({"little_endian": True}, protocol=2),
            writer.dumps(inner, protocol=2, persistent_ids={id(inner): ("module", "os", "f.py", "import os")}),
        ])
        writer.write(str(path), {"x": writer.Reduce(writer.Global("torch.storage", "_load_from_bytes"), (stream,))})
        with pytest.raises(UnsafePickleError, match=r"refusing persistent id \('module'"):
            load_official_pickle(path)


class TestHostileStructures(TestCase):
    def test_shared_objects_are_converted_once(self, tmp_path):
        nested = [np.float64(1.0)]
        for _ in range(80):  # 2**80 paths, 81 objects
            nested = [nested, nested]
        path = tmp_path / "dag.pkl"
        path.write_bytes(pickle.dumps({"x": nested}, protocol=4))
        out = load_official_pickle(path)["x"]
        assert out[0] is out[1]

    def test_cycles_are_refused(self, tmp_path):
        cycle = []
        cycle.append(cycle)
        path = tmp_path / "cycle.pkl"
        path.write_bytes(pickle.dumps({"x": cycle}, protocol=4))
        with pytest.raises(OfficialPickleError, match="cycle.pkl: the pickle contains a cycle"):
            load_official_pickle(path)

    def test_reader_internals_are_sealed(self, tmp_path):
        storage = writer.Reduce(writer.Global("torch.storage", "_load_from_bytes"),
                                (writer.legacy_storage_bytes(np.ones(2, "float32")),), state={"array": [1]})
        path = tmp_path / "build.pkl"
        writer.write(str(path), {"x": storage})
        with pytest.raises(UnsafePickleError, match="refusing to set the state of a Storage"):
            load_official_pickle(path)

    def test_broadcast_explosion_is_refused(self, tmp_path):
        huge = writer.Reduce(writer.Global("torch._utils", "_rebuild_tensor_v2"), (
            writer.storage(np.ones(1, "float32")), 0, (1 << 15, 1 << 15), (0, 0), False, {}))
        path = tmp_path / "huge.pkl"
        writer.write(str(path), {"x": huge})
        with pytest.raises(OfficialPickleError, match=r"would repeat a storage of 1 elements into 1073741824"):
            load_official_pickle(path)


class TestBrokenFiles(TestCase):
    def test_not_a_pickle(self, tmp_path):
        path = tmp_path / "notes.txt"
        path.write_text("hello")
        with pytest.raises(OfficialPickleError, match="notes.txt is not an official network pickle: it does not start"):
            load_official_pickle(path)
        path.write_bytes(b"PK\x03\x04rest")
        with pytest.raises(OfficialPickleError, match="is a zip archive"):
            load_official_pickle(path)
        with pytest.raises(ValueError, match="no such file"):
            load_official_pickle(tmp_path / "missing.pkl")
        with pytest.raises(ValueError, match="binary mode"), open(path, encoding="latin1") as f:
            load_official_pickle(f)

    def test_truncated(self, tiny_pickle, tmp_path):
        with open(tiny_pickle[0], "rb") as f:
            payload = f.read()
        path = tmp_path / "cut.pkl"
        for cut in (len(payload) // 2, len(payload) - 1, 3):
            path.write_bytes(payload[:cut])
            with pytest.raises(OfficialPickleError, match=r"cut.pkl is (truncated or corrupt|not a readable)"):
                load_official_pickle(path)

    def test_truncated_storage_and_wrong_top_level(self, tmp_path):
        stream = writer.legacy_storage_bytes(np.ones(4, "float32"))[:-3]
        path = tmp_path / "t.pkl"
        writer.write(str(path), {"x": writer.Reduce(writer.Global("torch.storage", "_load_from_bytes"), (stream,))})
        with pytest.raises(OfficialPickleError, match="a storage in .*t.pkl is truncated"):
            load_official_pickle(path)
        writer.write(str(path), [1, 2])
        with pytest.raises(OfficialPickleError, match="holds a list, not the dict"):
            load_official_pickle(path)


def test_reader_imports_neither_torch_nor_keras(tiny_pickle):
    code = (
        # An empty stand-in for the `keras_creps` package (whose __init__
        # imports Keras), so only the reader package itself is imported.
        "import importlib, sys, types\n"
        "package = types.ModuleType('keras_creps')\n"
        f"package.__path__ = [{os.path.join(ROOT, 'keras_creps')!r}]\n"
        "sys.modules['keras_creps'] = package\n"
        "module = importlib.import_module('keras_creps.official_pickle')\n"
        f"data = module.load_official_pickle({tiny_pickle[0]!r})\n"
        "assert data['G_ema']['state_dict']['mapping.w_avg'].shape == (32,)\n"
        "print(sorted(name for name in ('torch', 'keras', 'tensorflow', 'jax') if name in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.strip() == "[]"


# ----------------------------------------------------------------------------- budgets and limits


def _limit_error(path_or_payload, match, **kwargs):
    """Loads a hostile file (path or bytes), expecting a one-line limit refusal."""
    source = io.BytesIO(path_or_payload) if isinstance(path_or_payload, bytes) else path_or_payload
    with pytest.raises(OfficialPickleError, match=match) as info:
        load_official_pickle(source, **kwargs)
    message = str(info.value)
    assert "\n" not in message and len(message) < 600, message
    return message


def _broadcast(storage, size):
    return writer.Reduce(writer.Global("torch._utils", "_rebuild_tensor_v2"),
                         (storage, 0, size, (0,) * len(size), False, {}))


def _shared_dict_dag(levels=60):
    node = {}
    for _ in range(levels):
        node = {"a": node, "b": node}
    return node


# A tuple key built from the stack alone: `0`, then DUP + TUPLE2 per level, so
# that hashing it visits 2**levels items (never built here: hashing it hangs).
def _tuple_dag_opcodes(levels=60):
    return pickle.BININT1 + b"\x00" + (pickle.DUP + pickle.TUPLE2) * levels


class TestBudgets(TestCase):
    def test_stride_zero_view_stays_within_the_total_budget(self, tmp_path):
        # 1 GiB from one float: within the per-view cap, refused by the total budget.
        path = tmp_path / "gib.pkl"
        writer.write(str(path), {"x": _broadcast(writer.storage(np.ones(1, "float32")), (1 << 14, 1 << 14))})
        assert path.stat().st_size < 512
        message = _limit_error(path, "tensor-bytes limit")
        assert message.startswith(f"{path} exceeds the reader's tensor-bytes limit: ")
        assert f"max_tensor_bytes={4 * path.stat().st_size + (512 << 20)})" in message

    def test_many_views_of_one_storage_are_counted_together(self, tmp_path):
        # 128 views of 1 GiB (128 GiB in all) of a single memoized storage, from a few KB.
        storage = writer.storage(np.ones(1, "float32"))
        path = tmp_path / "many.pkl"
        writer.write(str(path), {"x": [_broadcast(storage, (1 << 14, 1 << 14)) for _ in range(128)]})
        assert path.stat().st_size < 8192
        tracemalloc.start()
        try:
            _limit_error(path, "tensor-bytes limit")
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert peak < 600 << 20  # at most one view at the default budget, never 128 GiB

    def test_small_configured_budget(self, tiny_pickle):
        path, arrays, _ = tiny_pickle
        message = _limit_error(path, "tensor-bytes limit", max_tensor_bytes=100_000)
        assert "more than 100,000 bytes once decoded (max_tensor_bytes=100000)" in message
        # An official file decodes to about twice its size: the default (4x + 512 MiB) has headroom.
        size = os.path.getsize(path)
        tight = load_official_pickle(path, max_tensor_bytes=2 * size)
        default = load_official_pickle(path)
        for name in ("G", "G_ema", "D", "augment_pipe"):
            assert list(tight[name]["state_dict"]) == list(default[name]["state_dict"])
            for key, value in default[name]["state_dict"].items():
                np.testing.assert_array_equal(tight[name]["state_dict"][key], value, err_msg=key)
        np.testing.assert_array_equal(default["G_ema"]["state_dict"]["mapping.fc0.weight"],
                                      arrays["G/mapping.fc0.weight"])
        for bad in (-1, 1.5, True, "1000"):
            with pytest.raises(ValueError, match="`max_tensor_bytes` must be a non-negative int"):
                load_official_pickle(path, max_tensor_bytes=bad)

    def test_arrays_from_one_memoized_buffer_are_charged_each_time(self, tmp_path):
        # 64 NumPy arrays (as NumPy pickles them) rebuilt from one memoized 1 MB buffer.
        data = np.arange(1 << 18, dtype="float32").tobytes()
        dtype = writer.Reduce(writer.Global("numpy", "dtype"), ("f4", False, True),
                              state=(3, "<", None, None, None, -1, -1, 0))
        arrays = [writer.Reduce(writer.Global("numpy.core.multiarray", "_reconstruct"),
                                (writer.Global("numpy", "ndarray"), (0,), b"b"),
                                state=(1, (1 << 18,), dtype, False, data)) for _ in range(64)]
        path = tmp_path / "arrays.pkl"
        writer.write(str(path), {"x": arrays})
        assert path.stat().st_size < (1 << 20) + 8192
        loaded = load_official_pickle(path)["x"]
        assert len(loaded) == 64 and loaded[63][-1] == (1 << 18) - 1
        _limit_error(path, "tensor-bytes limit", max_tensor_bytes=32 << 20)


class TestStreamLimits(TestCase):
    def test_memo_index_bomb(self):
        # LONG_BINPUT 0x03ffffff: the C unpickler would size its memo for 64M entries (1 GiB).
        payload = b"\x80\x04}r\xff\xff\xff\x03."
        assert len(payload) == 9
        message = _limit_error(payload, "memo limit")
        assert message == ("<file object> exceeds the reader's memo limit: memo index 67,108,863 at byte 3 "
                           "of the pickle, after only 3 opcodes")
        _limit_error(b"\x80\x04}r\xff\xff\xff\xff.", "memo index 4,294,967,295")  # a MemoryError before
        _limit_error(b"\x80\x02}p99\n.", "memo index 99 ")  # protocol 0 PUT

    def test_memo_bomb_inside_a_storage_stream(self, tmp_path):
        inner = writer.legacy_storage_bytes(np.ones(2, "float32"))
        sys_info = inner.index(b"\x80\x02}")
        end = inner.index(b".", sys_info) + 1
        tampered = inner[:sys_info] + b"\x80\x02}r\xff\xff\xff\x03." + inner[end:]
        path = tmp_path / "inner.pkl"
        writer.write(str(path), {"x": writer.Reduce(writer.Global("torch.storage", "_load_from_bytes"), (tampered,))})
        message = _limit_error(path, "memo limit")
        assert message.startswith(f"{path} exceeds the reader's memo limit: memo index 67,108,863 at byte ")
        assert f"of a storage stream in {path}" in message

    def test_opcode_limit_counts_every_stream(self, tiny_pickle, monkeypatch):
        from keras_creps.official_pickle import opcode_scan

        path = tiny_pickle[0]
        with open(path, "rb") as f:
            outer = sum(1 for _ in pickletools.genops(f))
        monkeypatch.setattr(opcode_scan, "_MAX_OPCODES", outer + 10)  # the storages' pickles come on top
        message = _limit_error(path, "opcode limit")
        assert message == f"{path} exceeds the reader's opcode limit: more than {outer + 10:,} pickle opcodes"
        monkeypatch.setattr(opcode_scan, "_MAX_OPCODES", 1000)
        _limit_error(b"\x80\x04" + b"N0" * 600 + b"}.", "more than 1,000 pickle opcodes")

    def test_stack_limit(self):
        message = _limit_error(b"\x80\x04" + b"N" * 100_001 + b"}.", "stack limit")
        assert "more than 100,000 items on the unpickling stack at byte 100002 of the pickle" in message

    def test_mark_nesting_limit(self):
        message = _limit_error(b"\x80\x02" + b"(" * 1001 + b"}.", "nesting limit")
        assert "MARKs nested more than 1,000 deep at byte 1002" in message
        # 1000 nested protocol-0 lists are within the stream limits; the reader refuses their depth later.
        _limit_error(b"\x80\x02}X\x01\x00\x00\x00x" + b"(" * 1000 + b"N" + b"l" * 1000 + b"s.",
                     r"nesting limit: its data nests more than 256 deep")

    def test_tuple_nesting_limit(self):
        # Hashing a million nested 1-tuples overflows the C stack (a crash, not an exception):
        # tuples may not nest deeper than the reader's depth limit.
        payload = b"\x80\x04}" + pickle.BININT1 + b"\x00" + pickle.TUPLE1 * 300 + pickle.BININT1 + b"\x01s."
        _limit_error(payload, "nesting limit: tuples nested more than 256 deep")

    @pytest.mark.parametrize("kind", ["dict key", "set item", "frozenset item", "builtins.set"])
    def test_hashing_limit(self, kind):
        dag = _tuple_dag_opcodes()
        key = b"X\x01\x00\x00\x00k"
        payload = {
            "dict key": b"\x80\x04}" + dag + b"K\x01s.",
            "set item": b"\x80\x04}" + key + b"\x8f(" + dag + b"\x90s.",
            "frozenset item": b"\x80\x04}" + key + b"(" + dag + b"\x91s.",
            "builtins.set": b"\x80\x02}" + key + b"c__builtin__\nset\n]" + dag + b"a\x85Rs.",
        }[kind]
        assert len(payload) < 200
        _limit_error(payload, "hashing limit: its dict keys and set items would take more than 2,000,000 hash steps")

    def test_shared_tuples_that_are_never_hashed_load(self):
        loaded = load_official_pickle(io.BytesIO(b"\x80\x04}X\x01\x00\x00\x00k" + _tuple_dag_opcodes() + b"s."))
        assert loaded["k"][0] is loaded["k"][1]

    def test_long_global_names_and_constructor_arguments(self):
        long_name = (pickle.SHORT_BINUNICODE + b"\x05torch"
                     + pickle.BINUNICODE + (300).to_bytes(4, "little") + b"x" * 300)
        message = _limit_error(b"\x80\x04" + long_name + pickle.STACK_GLOBAL + b".",
                               "names longer than 200 characters are not official")
        assert len(message) < 400
        ordered = writer.Reduce(writer.Global("collections", "OrderedDict"), ([("a", 1)],))
        with pytest.raises(OfficialPickleError, match="OrderedDict with constructor arguments is not supported"):
            load_official_pickle(io.BytesIO(writer.dumps({"x": ordered})))

    @pytest.mark.parametrize("where", ["opcode_scan._scan_pickle", "unpicklers._decode_storage_stream",
                                       "plain_data._PlainConverter.plain"])
    @pytest.mark.parametrize("error, message", [(MemoryError, "memory limit: ran out of memory"),
                                                (RecursionError, "nesting limit")])
    def test_memory_and_recursion_errors_are_wrapped(self, tiny_pickle, monkeypatch, where, error, message):
        import importlib

        def fail(*args, **kwargs):
            raise error()

        module, *owner, name = where.split(".")
        target = importlib.import_module(f"keras_creps.official_pickle.{module}")
        monkeypatch.setattr(getattr(target, owner[0]) if owner else target, name, fail)
        path = tiny_pickle[0]
        _limit_error(path, f"^{path} exceeds the reader's {message}")


class TestDescribe(TestCase):
    def test_official_snapshot(self, tiny_pickle):
        from keras_creps.official_pickle import describe_official_pickle

        lines = describe_official_pickle(load_official_pickle(tiny_pickle[0])).splitlines()
        assert lines[0].startswith("G: Generator, 92 tensors, ") and "'img_resolution': 16" in lines[0]
        assert any(line.startswith("D: Discriminator, 28 tensors") for line in lines)
        assert any(line.startswith("augment_pipe: AugmentPipe, 2 tensors, 13 values") for line in lines)
        assert f"training_set_kwargs: {TRAINING_SET_KWARGS!r}" in lines

    def test_shared_dict_dag_is_described_fast(self, tmp_path):
        # 625 bytes, 2**60 paths: a full repr never finishes.
        from keras_creps.official_pickle import describe_official_pickle

        path = tmp_path / "dag.pkl"
        path.write_bytes(pickle.dumps({"d": _shared_dict_dag()}, protocol=4))
        assert path.stat().st_size == 625
        start = time.monotonic()
        loaded = load_official_pickle(path)
        text = describe_official_pickle(loaded)
        assert time.monotonic() - start < 10
        assert loaded["d"]["a"] is loaded["d"]["b"]
        assert text.startswith("d: {'a': {'a': ") and "<dict shown before>" in text
        assert len(text) <= 500 and "\n" not in text

    @pytest.mark.parametrize("value", [
        "huge string", "huge int", "many keys", "cycle", "deep", "network dag", "many entries", "bad network"])
    def test_bounded_whatever_the_structure(self, value):
        from keras_creps.official_pickle import describe_official_pickle

        cycle = []
        cycle.append(cycle)
        deep = []
        for _ in range(100_000):
            deep = [deep]
        data = {
            "huge string": {"s": "x\n" * 10_000_000, "b": b"\x00" * 10_000_000},
            "huge int": {"n": 7 ** 200_000},
            "many keys": {"d": {f"k{i}": i for i in range(1_000_000)}},
            "cycle": {"c": cycle},
            "deep": {"d": deep},
            "network dag": {"G": {"class_name": "x" * 10_000, "state_dict": {}, "init_kwargs": _shared_dict_dag()}},
            "many entries": {i: i for i in range(1_000_000)},
            "bad network": {"G": {"state_dict": {"w": "not an array"}, "init_kwargs": 5}},
        }[value]
        start = time.monotonic()
        text = describe_official_pickle(data)
        assert time.monotonic() - start < 10
        lines = text.split("\n")
        assert len(lines) <= 65 and all(len(line) <= 500 for line in lines), [len(line) for line in lines]
