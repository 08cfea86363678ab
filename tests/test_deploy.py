"""Container files, checked with what runs here: compose schema, hadolint, and their promises."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.tools  # check-jsonschema and hadolint
ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def test_compose_file_matches_the_compose_spec():
    result = subprocess.run(
        [
            str(BIN / "check-jsonschema"),
            "--builtin-schema",
            "vendor.compose-spec",
            str(ROOT / "docker-compose.yml"),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_single_box_by_default_and_a_scale_profile():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    default = [name for name, s in services.items() if not s.get("profiles")]
    assert default == ["ragd"]
    assert "./data:/data" in services["ragd"]["volumes"]
    scale = {name for name, s in services.items() if "scale" in s.get("profiles", [])}
    assert scale == {"ragd-replica", "proxy", "llm", "milvus", "etcd", "minio"}
    replica = services["ragd-replica"]
    assert replica["environment"]["RAGD_VECTOR_STORE"] == "milvus"
    assert "${RAGD_REPLICAS:-2}" in str(replica["deploy"]["replicas"])


def test_dockerfile_passes_hadolint():
    result = subprocess.run(
        [str(BIN / "hadolint"), str(ROOT / "Dockerfile")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_is_multistage_non_root_with_healthcheck_and_cuda_arg():
    text = (ROOT / "Dockerfile").read_text()
    assert len(re.findall(r"^FROM ", text, re.M)) == 2
    assert re.search(r"^USER 10001$", text, re.M)
    assert re.search(r"^HEALTHCHECK .*\n.*/health", text, re.M)
    assert 'CMAKE_ARGS="-DGGML_CUDA=${GGML_CUDA}"' in text
    assert 'VOLUME ["/data"]' in text
