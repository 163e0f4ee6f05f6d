"""ray_cluster.yaml is accepted by Ray's own cluster-config validation."""

from pathlib import Path

import yaml


def test_ray_cluster_yaml_validates():
    from ray.autoscaler._private.util import prepare_config, validate_config

    cfg = prepare_config(yaml.safe_load((Path(__file__).parents[1] / "ray_cluster.yaml").read_text()))
    validate_config(cfg)
    assert cfg["head_node_type"] in cfg["available_node_types"]
    assert any("lsbench" in c for c in cfg["setup_commands"])
    assert "torch==2.13.0" in " ".join(cfg["setup_commands"])
