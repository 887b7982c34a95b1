"""A SavedModel's signatures listed as `saved_model_cli show --all` does, without loading a graph."""

import os

from tensorflow.core.framework import types_pb2
from tensorflow.core.protobuf import saved_model_pb2


def describe_saved_model(path):
    """The signatures at `path` as `saved_model_cli show --dir <path> --all` lists them (a str).

    Read from `saved_model.pb` alone (no graph is loaded), so it is quick.

    Example:
    ```python
    print(describe_saved_model("models/creps/1"))
    ```
    """
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(os.fspath(path), "saved_model.pb"), "rb") as f:
        saved_model.ParseFromString(f.read())
    lines = []
    for meta_graph in saved_model.meta_graphs:
        tags = ", ".join(sorted(meta_graph.meta_info_def.tags))
        lines += [f"MetaGraphDef with tag-set: '{tags}' contains the following SignatureDefs:", ""]
        for name in sorted(meta_graph.signature_def):
            signature = meta_graph.signature_def[name]
            lines.append(f"signature_def['{name}']:")
            lines.append("  The given SavedModel SignatureDef contains the following input(s):")
            for key in sorted(signature.inputs):
                lines += _tensor_info("inputs", key, signature.inputs[key])
            lines.append("  The given SavedModel SignatureDef contains the following output(s):")
            for key in sorted(signature.outputs):
                lines += _tensor_info("outputs", key, signature.outputs[key])
            lines += [f"  Method name is: {signature.method_name}", ""]
    return "\n".join(lines)


def _tensor_info(kind, key, info):
    shape = info.tensor_shape
    dims = "unknown_rank" if shape.unknown_rank else "(" + ", ".join(str(d.size) for d in shape.dim) + ")"
    return [
        f"    {kind}['{key}'] tensor_info:",
        f"        dtype: {types_pb2.DataType.Name(info.dtype)}",
        f"        shape: {dims}",
        f"        name: {info.name}",
    ]
