"""`coulisse map analyze` and `map export`: files in, loops out, clear errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from bot.export.mapfiles import MapFileError, read_csv, read_kumu, to_csv, to_graphml, to_kumu

ROOT = Path(__file__).resolve().parents[1]
ARCHETYPES = {
    "limits-to-growth": (["effort,results,+", "results,effort,+", "results,constraint,+",
                          "constraint,results,-"], {"R1": 2, "B1": 2}),
    "shifting-the-burden": (["symptom,quick fix,+", "quick fix,symptom,-",
                             "symptom,fundamental,+", "fundamental,symptom,o",
                             "quick fix,side effect,s", "side effect,fundamental,minder"],
                            {"B1": 2, "B2": 2, "R1": 4}),
    "fixes-that-fail": (["problem,fix,+", "fix,problem,-", "fix,consequence,+",
                         "consequence,problem,meer"], {"B1": 2, "R1": 3}),
    "escalation": (["activity A,threat to B,+", "threat to B,activity B,+",
                    "activity B,threat to A,+", "threat to A,activity A,+"], {"R1": 4}),
    "tragedy-of-the-commons": (["A,gain A,+", "gain A,A,+", "B,gain B,+", "gain B,B,+",
                                "A,total,+", "B,total,+", "total,resource,-",
                                "resource,yield,+", "yield,gain A,+", "yield,gain B,+"],
                               {"R1": 2, "R2": 2, "B1": 5, "B2": 5}),
}  # fmt: skip
runner = CliRunner()


@pytest.mark.parametrize("name", sorted(ARCHETYPES))
def test_analyze_finds_the_loops_of_each_archetype(tmp_path: Path, name: str) -> None:
    rows, expected = ARCHETYPES[name]
    path = tmp_path / f"{name}.csv"
    path.write_text("from,to,polarity\n" + "\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(app, ["map", "analyze", str(path), "--svg", str(tmp_path / "m.svg")])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert {lp["id"]: lp["length"] for lp in data["loops"]} == expected
    for lp in data["loops"]:
        assert lp["kind"] == ("reinforcing" if lp["id"].startswith("R") else "balancing")
    assert data["truncated"] is False and data["leverage"]
    assert (tmp_path / "m.svg").read_text(encoding="utf-8").count("</svg>") == 1


def test_analyze_bounds_are_options(tmp_path: Path) -> None:
    path = tmp_path / "ring.csv"
    path.write_text("from,to,polarity\na,b,+\nb,c,+\nc,a,+\na,c,-\nc,b,-\n", encoding="utf-8")
    data = json.loads(runner.invoke(app, ["map", "analyze", str(path)]).output)
    assert len(data["loops"]) == 3 and not data["truncated"]
    short = json.loads(
        runner.invoke(app, ["map", "analyze", str(path), "--max-length", "2"]).output
    )
    assert [lp["length"] for lp in short["loops"]] == [2, 2] and short["truncated"]
    few = json.loads(runner.invoke(app, ["map", "analyze", str(path), "--max-loops", "1"]).output)
    assert len(few["loops"]) == 1 and few["truncated"]
    exact = json.loads(runner.invoke(app, ["map", "analyze", str(path), "--max-loops", "3"]).output)
    assert len(exact["loops"]) == 3 and not exact["truncated"] and exact["bound"] is None


def test_the_count_bound_keeps_the_shortest_and_says_what_it_hides(tmp_path: Path) -> None:
    path = tmp_path / "two.csv"
    path.write_text("from,to,polarity\na,b,+\nb,c,+\nc,a,+\nd,e,+\ne,d,-\n", encoding="utf-8")
    data = json.loads(runner.invoke(app, ["map", "analyze", str(path), "--max-loops", "1"]).stdout)
    assert [lp["factors"] for lp in data["loops"]] == [["d", "e"]]
    assert (data["bound"], data["complete_to_length"], data["hidden_loops_at_least"]) == (
        "count", 2, 1,
    )  # fmt: skip


def test_a_self_link_is_read_as_a_one_factor_loop(tmp_path: Path) -> None:
    path = tmp_path / "self.csv"
    path.write_text("from,to,polarity\nstock,stock,-\nstock,Stock ,+\n", encoding="utf-8")
    result = runner.invoke(app, ["map", "analyze", str(path)])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [(lp["id"], lp["factors"]) for lp in data["loops"]] == [("U1", ["stock"])]
    assert data["conflicts"] == [{"from": "stock", "to": "stock", "where": ["line 2", "line 3"]}]
    assert "stock -> stock is given with both signs (line 2, line 3)" in result.stderr


def test_names_of_punctuation_alone_stay_apart() -> None:
    read = read_csv("from,to,polarity\n???,b,+\nb,???,+\n!!!,b,+\n")
    assert read.factors == ["???", "b", "!!!"]  # "!!!" is not "???" (both had the key "")


def test_kumu_nulls_and_odd_loops_are_read_not_named_none() -> None:
    read = read_kumu(json.dumps({
        "elements": [{"_id": "e1", "label": None}, {"_id": "e2", "label": "b"}],
        "connections": [{"_id": "c1", "from": "e1", "to": "e2", "type": "+"},
                        {"_id": "c2", "from": "e2", "to": "e1", "type": "+"}],
        "loops": [{"label": None, "connections": ["c1", "c2"]}, {"label": "x", "connections": 5}],
    }))  # fmt: skip
    assert read.factors == ["e1", "b"]  # a null label is no label: the id names it
    assert [lp.label for lp in read.loops] == ["loop 1"]


def test_kumu_json_reads_the_same_as_csv() -> None:
    kumu = read_kumu(json.dumps({
        "elements": [{"label": "trust", "_id": "e1"}, {"label": "referrals"}],
        "connections": [{"from": "e1", "to": "referrals", "type": "-"},
                        {"from": "referrals", "to": "trust", "type": "+", "delay": True}],
    }))  # fmt: skip
    assert kumu.factors == ["trust", "referrals"]
    assert [(e.source, e.target, e.opposite, e.delay) for e in kumu.edges] == [
        ("trust", "referrals", True, False),
        ("referrals", "trust", False, True),
    ]
    again = read_kumu(to_kumu(kumu))
    assert again.edges == kumu.edges
    assert read_csv(to_csv(kumu)).edges == kumu.edges
    assert to_graphml(kumu).count("<edge ") == 2


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("from,to\na,b\n", "line 1"),
        ("from,to,polarity\na,b,+\nb,c,maybe\n", "line 3"),
        ("from,to,polarity,delay\na,b,+,soms\n", "line 2"),
        ("from,to,polarity\na,,+\n", "line 2"),
    ],
)
def test_bad_csv_says_which_line(text: str, where: str) -> None:
    with pytest.raises(MapFileError, match=where):
        read_csv(text)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('{"elements": [], \n "connections": [}', "line 2"),
        ('{"elements": [{"label": "a"}], "connections": [{"from": "a", "to": "z", "type": "+"}]}',
         "connection 1"),
        ('{"elements": [{"label": "a"}, {"label": "b"}], "connections": '
         '[{"from": "a", "to": "b", "type": "+"}, {"from": "b", "to": "a", "type": "?"}]}',
         "connection 2"),
    ],
)  # fmt: skip
def test_bad_kumu_says_where(text: str, where: str) -> None:
    with pytest.raises(MapFileError, match=where):
        read_kumu(text)


def test_a_bad_or_empty_file_exits_2_with_a_clear_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("from,to,polarity\nwachtlijst,druk,zeker\n", encoding="utf-8")
    empty = tmp_path / "empty.csv"
    empty.write_text("from,to,polarity\n", encoding="utf-8")
    for path, message in ((bad, "line 2: unknown polarity 'zeker'"), (empty, "no links")):
        proc = subprocess.run(
            [sys.executable, "-m", "bot", "map", "analyze", str(path)],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert proc.returncode == 2 and message in proc.stderr and proc.stdout == ""


def test_export_writes_a_teams_map(tmp_path: Path) -> None:
    demo = runner.invoke(app, ["demo", "--out", str(tmp_path)])
    assert demo.exit_code == 0
    env = {"COULISSE_DATABASE_URL": f"sqlite:///{tmp_path / 'coulisse-demo.db'}"}
    result = runner.invoke(app, ["map", "export", "1", "--format", "csv"], env=env)
    assert result.exit_code == 0, result.output
    rows = result.output.strip().splitlines()
    assert rows[0] == "from,to,polarity,delay" and len(rows) == 8
    assert "wachtlijst,druk op huisarts,+,no" in rows
    kumu = json.loads(runner.invoke(app, ["map", "export", "1"], env=env).stdout)
    ids = {c["id"] for c in kumu["connections"]}
    assert kumu["loops"] and all(set(lp["connections"]) <= ids for lp in kumu["loops"])
    assert {lp["label"] for lp in kumu["loops"]} >= {"B1"}
    assert all(isinstance(c["delayed"], bool) for c in kumu["connections"])
    missing = runner.invoke(app, ["map", "export", "99"], env=env)
    assert missing.exit_code == 2
    nowhere = runner.invoke(app, ["map", "export", "1", "--out", str(tmp_path)], env=env)
    assert nowhere.exit_code == 2 and "cannot write it (IsADirectoryError" in nowhere.stderr


def test_a_picture_that_cannot_be_written_is_exit_3_with_the_json_out(tmp_path: Path) -> None:
    path = tmp_path / "map.csv"
    path.write_text("from,to,polarity\na,b,+\nb,a,-\n", encoding="utf-8")
    svg = tmp_path / "no-such-folder" / "map.svg"
    result = runner.invoke(app, ["map", "analyze", str(path), "--svg", str(svg)])
    assert result.exit_code == 3, result.output
    assert json.loads(result.stdout)["loops"][0]["id"] == "B1"
    assert f"{svg}: not written (FileNotFoundError" in result.stderr
