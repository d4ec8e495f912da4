"""What `journey dev` watches in its journeys folder: the files a deploy reads, not an editor's or Git's."""

from __future__ import annotations

import os
from pathlib import Path

from orchestrator.host.folder_watch import snapshot


def test_a_save_changes_the_snapshot_and_hidden_files_do_not_count(tmp_path: Path) -> None:
    journey = tmp_path / "cart.yaml"
    journey.write_text("id: cart\n")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reminder.html").write_text("<p>hi</p>")
    (tmp_path / ".cart.yaml.swp").write_text("editor state")
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "index").write_text("git state")
    before = snapshot([tmp_path])
    assert sorted(p.relative_to(tmp_path).as_posix() for p in before) == ["cart.yaml", "templates/reminder.html"]

    (tmp_path / ".cart.yaml.swp").write_text("editor state, longer")
    assert snapshot([tmp_path]) == before
    journey.write_text("id: cart\nname: Cart\n")
    os.utime(journey, ns=(before[journey][1] + 10**9, before[journey][1] + 10**9))
    assert snapshot([tmp_path]) != before
