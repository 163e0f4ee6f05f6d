"""ray_cluster.yaml is accepted by Ray's own validation; preprocess on a real two-node Ray cluster."""

from pathlib import Path

import pytest
import yaml
from conftest import RAY_GROUP

pytestmark = [RAY_GROUP, pytest.mark.slow]  # they start Ray (here or in a CLI subprocess): one worker runs them all


def test_ray_cluster_yaml_validates():
    from ray.autoscaler._private.util import prepare_config, validate_config

    cfg = prepare_config(yaml.safe_load((Path(__file__).parents[1] / "ray_cluster.yaml").read_text()))
    validate_config(cfg)
    assert cfg["head_node_type"] in cfg["available_node_types"]
    assert any("lsbench" in c for c in cfg["setup_commands"])
    assert "torch==2.13.0" in " ".join(cfg["setup_commands"])


@pytest.mark.slow
@RAY_GROUP
def test_a_two_node_cluster_writes_the_single_node_shards(lrs2_corpus, tmp_path, ray_local):
    """`preprocess --ray-address` against a real two-node Ray cluster (head + worker node, one
    CPU each, so the two actors run on different nodes): the same clip ids and identical rows
    as the single-node run (rows hold no timing fields). Then the per-node path check: a corpus
    root the nodes cannot see stops the run with one line naming the node and the path."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import ray
    from ray.cluster_utils import Cluster

    from lsbench.errors import EnvironmentFailure
    from preprocess.cluster_paths import check_nodes_see_paths
    from preprocess.pipeline import RunOptions, run
    from preprocess.stages import Config

    root, _ = lrs2_corpus
    single_out = tmp_path / "one_node"
    run(RunOptions("lrs2", root, single_out, split="test", limit=4, num_workers=2, progress=False), Config(sync="none"),
        echo=lambda s: None)
    ray.shutdown()  # the test run's Ray gives way to the two-node cluster (this module runs last of the Ray tests)
    cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        cluster.add_node(num_cpus=1)
        cluster.wait_for_nodes()
        out = tmp_path / "two_nodes"
        run(RunOptions("lrs2", root, out, split="test", limit=4, ray_address=cluster.address, num_workers=2,
                       progress=False),
            Config(sync="none"), echo=lambda s: None)
        assert len([n for n in ray.nodes() if n["Alive"]]) == 2 and ray.cluster_resources()["CPU"] == 2
        assert check_nodes_see_paths(root, out) == 2
        (tmp_path / "out2").mkdir()
        with pytest.raises(EnvironmentFailure, match=r"Ray node .* cannot see the corpus root /nonexistent/corpus"):
            check_nodes_see_paths(Path("/nonexistent/corpus"), tmp_path / "out2")
    finally:
        ray.shutdown()
        cluster.shutdown()
    def rows(folder):
        t = pa.concat_tables([pq.read_table(f) for f in sorted((folder / "shards").glob("*.parquet"))])
        return t.sort_by("clip_id")

    one, two = rows(single_out), rows(out)
    assert two.column("clip_id").to_pylist() == one.column("clip_id").to_pylist() and one.num_rows >= 2
    assert two.column_names == one.column_names
    def same(a, b):  # NaN (sync_conf, sync_dist under --sync none) equals NaN here
        return a.equals(b) or [None if x != x else x for x in a.to_pylist()] == [None if x != x else x
                                                                                for x in b.to_pylist()]

    assert [c for c in one.column_names if not same(one.column(c), two.column(c))] == []
