"""make e2e says where a long phase stands at least every 30 seconds."""

from __future__ import annotations

import time
from pathlib import Path

from tools.e2e import progress
from tools.e2e.progress import Ticker, done_so_far

CDKTF_LOG = (
    "order-api-dev-e2e  aws_vpc.network_vpc_1A2B: Creating...\n"
    "order-api-dev-e2e  \x1b[32maws_vpc.network_vpc_1A2B: Creation complete after 2s [id=vpc-1]\x1b[0m\n"
    "order-api-dev-e2e  aws_subnet.a: Creation complete after 1s [id=subnet-1]\n"
    "order-api-dev-e2e  aws_ecs_service.api: Modifications complete after 1s\n"
)


def test_the_resources_done_so_far_are_counted_from_the_log() -> None:
    assert done_so_far(CDKTF_LOG) == "2 created, 1 changed"
    assert done_so_far("aws_s3_bucket.x: Destruction complete after 0s\n") == "1 destroyed"
    assert done_so_far("Initializing the backend...\n") == "nothing finished yet"


def test_a_long_phase_prints_a_line_every_interval(tmp_path: Path) -> None:
    log = tmp_path / "deploy.log"
    log.write_text(CDKTF_LOG)
    lines: list[str] = []
    with Ticker("round 1  deploy", log, lines.append, every=0.05):
        time.sleep(0.18)
    assert len(lines) >= 2
    assert all(line.startswith("round 1  deploy [") and line.endswith("] 2 created, 1 changed") for line in lines)


def test_a_short_phase_prints_nothing(tmp_path: Path) -> None:
    lines: list[str] = []
    with Ticker("setup    emulator", tmp_path / "none.log", lines.append, every=10):
        pass
    assert lines == []


def test_the_interval_is_at_most_thirty_seconds() -> None:
    assert 0 < progress.EVERY_SECONDS <= 30
