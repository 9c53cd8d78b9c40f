"""TF Serving's models.config and batching_parameters.txt beside an export, parsed with its protos."""

import keras
import numpy as np
import pytest
from google.protobuf import text_format

from kerasnas.export import export_saved_model
from kerasnas.export.serving_config import (
    batching_parameters,
    batching_settings,
    models_config,
    write_serving_config,
)

model_server_config_pb2 = pytest.importorskip("tensorflow_serving.config.model_server_config_pb2")

LATENCY = [
    {"batch_size": 1, "median_ms": 0.5},
    {"batch_size": 32, "median_ms": 2.0},
    {"batch_size": 256, "median_ms": 12.0},
]


def batching_message_class():
    """TF Serving's BatchingParameters (from session_bundle_config.proto).

    The tensorflow-serving-api wheel does not ship that module, so without it
    the message is declared here with the upstream field numbers and types.
    """
    try:
        from tensorflow_serving.servables.tensorflow import session_bundle_config_pb2

        return session_bundle_config_pb2.BatchingParameters
    except ImportError:
        pass
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, wrappers_pb2

    field = descriptor_pb2.FieldDescriptorProto
    proto = descriptor_pb2.FileDescriptorProto(
        name="kerasnas_test/session_bundle_config.proto",
        package="tensorflow.serving",
        syntax="proto3",
        dependency=["google/protobuf/wrappers.proto"],
    )
    message = proto.message_type.add(name="BatchingParameters")
    wrapped = [
        ("max_batch_size", 1, "Int64Value"),
        ("batch_timeout_micros", 2, "Int64Value"),
        ("max_enqueued_batches", 3, "Int64Value"),
        ("num_batch_threads", 4, "Int64Value"),
        ("thread_pool_name", 5, "StringValue"),
    ]
    for name, number, kind in wrapped:
        message.field.add(
            name=name,
            number=number,
            type=field.TYPE_MESSAGE,
            type_name=f".google.protobuf.{kind}",
            label=field.LABEL_OPTIONAL,
        )
    message.field.add(
        name="allowed_batch_sizes", number=6, type=field.TYPE_INT64, label=field.LABEL_REPEATED
    )
    message.field.add(
        name="pad_variable_length_inputs",
        number=7,
        type=field.TYPE_BOOL,
        label=field.LABEL_OPTIONAL,
    )
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(wrappers_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(proto)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("tensorflow.serving.BatchingParameters")
    )


def test_batch_size_and_timeout_follow_the_measured_latency():
    # Throughput 2,000 / 16,000 / 21,333 samples/s: only 256 reaches 80% of the best.
    settings = batching_settings(LATENCY, num_threads=2)
    assert settings["max_batch_size"] == 256
    assert settings["batch_timeout_micros"] == 6000  # half of 12 ms
    assert settings["allowed_batch_sizes"] == [1, 32, 256]
    assert settings["num_batch_threads"] == settings["max_enqueued_batches"] == 2
    # A model that saturates at 32: 32,000/s at 32 beats 28,444/s at 256.
    fast = batching_settings(
        [
            {"batch_size": 1, "median_ms": 0.5},
            {"batch_size": 32, "median_ms": 1.0},
            {"batch_size": 256, "median_ms": 9.0},
        ]
    )
    assert fast["max_batch_size"] == 32 and fast["batch_timeout_micros"] == 500
    assert fast["allowed_batch_sizes"] == [1, 32]
    assert batching_settings([])["reason"].startswith("no latency was measured")


def test_files_parse_with_tf_serving_protos(tmp_path):
    config = text_format.Parse(
        models_config("mnist1d", "/srv/mnist1d"), model_server_config_pb2.ModelServerConfig()
    )
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == (
        "mnist1d",
        "/srv/mnist1d",
        "tensorflow",
    )
    assert model.model_version_policy.latest.num_versions == 1
    pinned = text_format.Parse(
        models_config("m", "/m", version_policy=[2, 3]), model_server_config_pb2.ModelServerConfig()
    )
    assert list(pinned.model_config_list.config[0].model_version_policy.specific.versions) == [2, 3]
    with pytest.raises(ValueError, match="version_policy"):
        models_config("m", "/m", version_policy="newest")

    parsed = text_format.Parse(
        batching_parameters(batching_settings(LATENCY, num_threads=2)), batching_message_class()()
    )
    assert parsed.max_batch_size.value == 256
    assert parsed.batch_timeout_micros.value == 6000
    assert list(parsed.allowed_batch_sizes) == [1, 32, 256]
    assert parsed.allowed_batch_sizes[-1] == parsed.max_batch_size.value  # TF Serving's rule


def test_export_writes_the_serving_config_and_the_exact_command(tmp_path):
    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions")(inputs))
    base = tmp_path / "tiny"
    info = export_saved_model(model, base, check_cli=False, warmup=False)
    config = text_format.Parse(
        (base / "models.config").read_text(), model_server_config_pb2.ModelServerConfig()
    )
    assert config.model_config_list.config[0].name == "tiny"
    assert config.model_config_list.config[0].base_path == str(base.resolve())
    batching = text_format.Parse(
        (base / "batching_parameters.txt").read_text(), batching_message_class()()
    )
    expected = batching_settings(info.latency)
    assert batching.max_batch_size.value == expected["max_batch_size"]
    readme = (base / "README.md").read_text()
    assert f"--model_config_file={base.resolve()}/models.config" in readme
    assert f"--batching_parameters_file={base.resolve()}/batching_parameters.txt" in readme
    assert "tensorflow_model_server --port=8500 --rest_api_port=8501" in readme
    assert info.options["serving_config"]["readme"] == str(base / "README.md")
    # A second export keeps one config, which now names the same base path.
    export_saved_model(model, base, check_cli=False, warmup=False, measure_latency=False)
    assert sorted(p.name for p in base.iterdir()) == [
        "1",
        "2",
        "README.md",
        "batching_parameters.txt",
        "models.config",
    ]


def test_write_serving_config_without_latency_uses_defaults(tmp_path):
    paths = write_serving_config(tmp_path / "m", [])
    parsed = text_format.Parse(paths["batching"].read_text(), batching_message_class()())
    assert parsed.max_batch_size.value == 32
    assert np.isfinite(parsed.batch_timeout_micros.value)


def test_export_options_pick_the_policy_or_skip_the_config(tmp_path):
    inputs = keras.Input((4,), name="inputs")
    model = keras.Model(inputs, keras.layers.Dense(2, name="predictions")(inputs))
    options = {"check_cli": False, "warmup": False, "measure_latency": False}
    export_saved_model(model, tmp_path / "all", version_policy="all", **options)
    config = text_format.Parse(
        (tmp_path / "all" / "models.config").read_text(),
        model_server_config_pb2.ModelServerConfig(),
    )
    assert config.model_config_list.config[0].model_version_policy.HasField("all")
    export_saved_model(model, tmp_path / "none", serving_config=False, **options)
    assert sorted(p.name for p in (tmp_path / "none").iterdir()) == ["1"]
    with pytest.raises(ValueError, match="version_policy"):
        export_saved_model(model, tmp_path / "bad", version_policy="newest", **options)
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())
    paths = write_serving_config(tmp_path / "folder", [], name="served_name")
    assert 'name: "served_name"' in paths["models_config"].read_text()
