"""Kumu files as Kumu writes them (real backups from Kumu's documentation repository, see
tests/fixtures/maps/README.md) and as its docs describe blueprints; and what we write back."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.export.mapfiles import MapFileError, analysis_json, read_kumu, read_map, to_kumu
from handlers.loops import analyse

MAPS = Path(__file__).parent / "fixtures" / "maps"
BACKUP = MAPS / "kumu-us-financial-inclusion.json"
runner = CliRunner()


def blueprint(elements: list[dict], connections: list[dict], **more: object) -> str:
    return json.dumps({"elements": elements, "connections": connections, **more})


def test_a_real_backup_is_read_with_its_attributes_ids_and_loops() -> None:
    raw = json.loads(BACKUP.read_text(encoding="utf-8"))
    loaded = read_map(BACKUP)
    assert len(loaded.factors) == len(raw["elements"]) == 230
    # Two undirected connections count both ways; every other connection once.
    undirected = sum(c["direction"] == "undirected" for c in raw["connections"])
    assert len(loaded.edges) == len(raw["connections"]) + undirected
    kinds = Counter(c["attributes"].get("connection type") for c in raw["connections"])
    opposite = kinds["+-"] + kinds["-+"]
    assert sum(e.opposite for e in loaded.edges) == opposite + undirected  # both are "-+"
    assert len(loaded.unsigned) == kinds[None] == 7
    assert len(loaded.loops) == len(raw["loops"]) == 42


def test_same_label_elements_stay_two_factors_shown_apart() -> None:
    raw = json.loads(BACKUP.read_text(encoding="utf-8"))
    labels = Counter(e["attributes"]["label"] for e in raw["elements"])
    doubled = [label for label, n in labels.items() if n > 1]
    loaded = read_map(BACKUP)
    for label in doubled:
        label = " ".join(label.split())
        names = [f for f in loaded.factors if loaded.labels[f] == label]
        assert len(names) == 2 and len(set(names)) == 2
        assert all(name.startswith(label + " (elem-") for name in names)


def test_same_label_elements_make_no_false_loop() -> None:
    text = blueprint(
        [{"id": "e1", "label": "A"}, {"id": "e2", "label": "A"}, {"id": "e3", "label": "B"}],
        [{"from": "e1", "to": "e3", "type": "+"}, {"from": "e3", "to": "e2", "type": "+"}],
    )
    loaded = read_kumu(text)
    assert loaded.factors == ["A (e1)", "A (e2)", "B"]
    assert analyse(loaded.factors, loaded.edges).loops == []  # A1 → B → A2 is no loop
    with pytest.raises(MapFileError, match="connection 1: 'A' is the label of more than one"):
        read_kumu(blueprint([{"id": "e1", "label": "A"}, {"id": "e2", "label": "A"}],
                            [{"from": "A", "to": "e2", "type": "+"}]))  # fmt: skip


@pytest.mark.parametrize(
    ("code", "opposite"),
    [("+", False), ("++", False), ("--", False), ("same", False), ("Same", False),
     ("-", True), ("+-", True), ("-+", True), ("opposite", True), ("o", True),
     ("adds to / same direction", False), ("subtracts from / opposite direction", True)],
)  # fmt: skip
def test_every_documented_polarity_code(code: str, opposite: bool) -> None:
    loaded = read_kumu(blueprint([{"label": "a"}, {"label": "b"}],
                                 [{"from": "a", "to": "b", "type": code}]))  # fmt: skip
    assert [(e.opposite, e.unknown) for e in loaded.edges] == [(opposite, False)]
    backup = read_kumu(blueprint(
        [{"_id": "elem-1", "attributes": {"label": "a"}},
         {"_id": "elem-2", "attributes": {"label": "b"}}],
        [{"_id": "conn-1", "from": "elem-1", "to": "elem-2", "direction": "directed",
          "delayed": False, "reversed": False, "attributes": {"connection type": code}}],
    ))  # fmt: skip
    assert backup.edges == loaded.edges


def test_a_missing_type_is_kept_as_unsigned_and_its_loop_is_unclear() -> None:
    loaded = read_kumu(
        blueprint(
            [{"label": "a"}, {"label": "b"}],
            [{"from": "a", "to": "b"}, {"from": "b", "to": "a", "type": "+"}],
        )
    )
    assert loaded.unsigned == ["connection 1"]
    (loop,) = analyse(loaded.factors, loaded.edges).loops
    assert loop.kind == "unclear" and loop.label == "U1"
    with pytest.raises(MapFileError, match="connection 1: unknown polarity 'maybe'"):
        read_kumu(blueprint([{"label": "a"}, {"label": "b"}],
                            [{"from": "a", "to": "b", "type": "maybe"}]))  # fmt: skip


@pytest.mark.parametrize("direction", ["mutual", "undirected"])
def test_mutual_and_undirected_are_two_links(direction: str) -> None:
    loaded = read_kumu(
        blueprint(
            [{"label": "a"}, {"label": "b"}],
            [{"from": "a", "to": "b", "type": "-", "direction": direction}],
        )
    )
    assert [(e.source, e.target, e.opposite) for e in loaded.edges] == [
        ("a", "b", True), ("b", "a", True),
    ]  # fmt: skip
    (loop,) = analyse(loaded.factors, loaded.edges).loops
    assert loop.kind == "reinforcing"  # two − links


def test_delayed_and_reversed_connections() -> None:
    loaded = read_kumu(blueprint(
        [{"_id": "e1", "attributes": {"label": "a"}}, {"_id": "e2", "attributes": {"label": "b"}}],
        [{"_id": "c1", "from": "e1", "to": "e2", "delayed": True, "attributes":
          {"connection type": "+"}},
         {"_id": "c2", "from": "e1", "to": "e2", "reversed": True, "attributes":
          {"connection type": "-"}}],
    ))  # fmt: skip
    assert [(e.source, e.target, e.delay) for e in loaded.edges] == [
        ("a", "b", True), ("b", "a", False),
    ]  # fmt: skip


def test_the_backups_named_loops_are_matched_to_the_loops_found(tmp_path: Path) -> None:
    result = runner.invoke(app, ["map", "analyze", str(BACKUP), "--max-length", "12"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    named = {n["label"]: n for n in data["named_loops"]}
    assert len(named) == 42
    found = {lp["id"]: lp for lp in data["loops"]}
    matched = [n for n in named.values() if n["found_as"]]
    assert len(matched) >= 30
    for n in matched:  # a named loop is the loop found with exactly its links
        assert found[n["found_as"]]["length"] == n["links"]
        assert n["kind"] == found[n["found_as"]]["kind"]
    assert named['10D "Breaking out"']["found_as"] is not None


def test_what_we_write_kumu_reads_back_with_delays_and_loops() -> None:
    original = read_kumu(blueprint(
        [{"id": "e1", "label": "A"}, {"id": "e2", "label": "A"}, {"id": "e3", "label": "B"}],
        [{"id": "c1", "from": "e1", "to": "e3", "type": "+", "delayed": True},
         {"id": "c2", "from": "e3", "to": "e1", "type": "-"},
         {"id": "c3", "from": "e3", "to": "e2", "type": "++"}],
        loops=[{"id": "l1", "label": "B1 wachten", "connections": ["c1", "c2"]}],
    ))  # fmt: skip
    written = json.loads(to_kumu(original))
    # The blueprint form Kumu documents: label and type on the item, from/to by id.
    assert {e["label"] for e in written["elements"]} == {"A", "B"}
    assert all(set(c) >= {"id", "from", "to", "type", "direction", "delayed"}
               for c in written["connections"])  # fmt: skip
    assert "delay" not in json.dumps(written["connections"]).replace("delayed", "")
    again = read_kumu(to_kumu(original))
    assert again.factors == original.factors and again.edges == original.edges
    assert again.loops == original.loops
    assert [c["delayed"] for c in written["connections"]] == [True, False, False]


def test_a_backup_exports_and_reads_back_the_same() -> None:
    loaded = read_map(BACKUP)
    again = read_kumu(to_kumu(loaded))
    assert again.factors == loaded.factors
    assert Counter(again.edges) == Counter(
        e for e in {(e.source, e.target): e for e in loaded.edges}.values()
    )
    assert len(again.loops) == len(loaded.loops)


def test_the_changelabs_template_reads(tmp_path: Path) -> None:
    loaded = read_map(MAPS / "kumu-changelabs-template.json")
    assert len(loaded.factors) == 10 and len(loaded.edges) == 11
    assert len(loaded.unsigned) == 6  # its connections without a causal type


def test_a_named_loops_r_or_b_is_checked_against_its_signs() -> None:
    loaded = read_kumu(blueprint(
        [{"id": "e1", "label": "a"}, {"id": "e2", "label": "b"}, {"id": "e3", "label": "c"}],
        [{"id": "c1", "from": "e1", "to": "e2", "type": "+"},
         {"id": "c2", "from": "e2", "to": "e1", "type": "-"},
         {"id": "c3", "from": "e2", "to": "e3", "type": "+"},
         {"id": "c4", "from": "e3", "to": "e2", "type": "+"}],
        loops=[{"id": "l1", "label": "R1: says R but is B", "connections": ["c1", "c2"]},
               {"id": "l2", "label": "R: Trust", "connections": ["c3", "c4"]},
               {"id": "l3", "label": "Rivalry", "connections": ["c3", "c4"]}],
    ))  # fmt: skip
    data = analysis_json(loaded, analyse(loaded.factors, loaded.edges))
    named = {n["label"]: (n["label_says"], n["kind"], n["agrees"]) for n in data["named_loops"]}
    assert named == {
        "R1: says R but is B": ("reinforcing", "balancing", False),
        "R: Trust": ("reinforcing", "reinforcing", True),
        "Rivalry": (None, "reinforcing", None),
    }


def test_an_unsigned_mutual_connection_is_reported_once() -> None:
    mutual = [{"from": "a", "to": "b", "direction": "undirected"}]
    loaded = read_kumu(blueprint([{"label": "a"}, {"label": "b"}], mutual))
    assert len(loaded.edges) == 2 and loaded.unsigned == ["connection 1"]
