"""Causal maps as files, for analysts and other tools: CSV and Kumu JSON in; Kumu JSON,
GraphML and CSV out. Errors say where (line or connection) and what is wrong."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from handlers.loops import Analysis, Edge
from handlers.messages import Diagram, DiagramLink, DiagramLoop
from handlers.model import Polarity
from handlers.systems import TeamMap, factor_key, parse_polarity

_TRUE = {"1", "true", "yes", "ja", "y", "j", "delay", "vertraging", "x"}
_FALSE = {"", "0", "false", "no", "nee", "n"}


class MapFileError(ValueError):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


@dataclass
class CausalMapFile:
    factors: list[str]
    edges: list[Edge[str]]

    def add(self, where: str, source: str, target: str, polarity: str, delay: str) -> None:
        source, target = source.strip(), target.strip()
        if not source or not target:
            raise MapFileError(where, "both ends of a link need a factor name")
        if factor_key(source) == factor_key(target):
            raise MapFileError(where, f"'{source}' is linked to itself")
        sign = parse_polarity(polarity)
        if sign is None:
            raise MapFileError(where, f"unknown polarity '{polarity}' (use + or -)")
        flag = delay.strip().casefold()
        if flag not in _TRUE | _FALSE:
            raise MapFileError(where, f"unknown delay '{delay}' (use yes or no)")
        names = {factor_key(f): f for f in self.factors}
        for name in (source, target):
            if factor_key(name) not in names:
                self.factors.append(name)
                names[factor_key(name)] = name
        self.edges.append(
            Edge(
                names[factor_key(source)],
                names[factor_key(target)],
                sign == Polarity.OPPOSITE,
                flag in _TRUE,
            )
        )


def read_csv(text: str) -> CausalMapFile:
    rows = csv.reader(io.StringIO(text))
    header = [h.strip().casefold() for h in next(rows, [])]
    missing = [c for c in ("from", "to", "polarity") if c not in header]
    if missing:
        raise MapFileError(
            "line 1", f"the header needs the columns from,to,polarity; missing {', '.join(missing)}"
        )
    cols = {
        name: header.index(name) for name in ("from", "to", "polarity", "delay") if name in header
    }
    result = CausalMapFile([], [])
    for number, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < len(header):
            raise MapFileError(
                f"line {number}", f"expected {len(header)} columns, found {len(row)}"
            )
        delay = row[cols["delay"]] if "delay" in cols else ""
        result.add(
            f"line {number}", row[cols["from"]], row[cols["to"]], row[cols["polarity"]], delay
        )
    return result


def read_kumu(text: str) -> CausalMapFile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MapFileError(f"line {exc.lineno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("connections"), list):
        raise MapFileError("line 1", 'a Kumu map needs "elements" and "connections" lists')
    labels: dict[str, str] = {}
    result = CausalMapFile([], [])
    for element in data.get("elements", []):
        label = str(element.get("label", "")).strip() if isinstance(element, dict) else ""
        if label:
            labels[label] = label
            for key in ("_id", "id"):
                if key in element:
                    labels[str(element[key])] = label
            if label not in result.factors:
                result.factors.append(label)
    for number, conn in enumerate(data["connections"], start=1):
        where = f"connection {number}"
        if not isinstance(conn, dict):
            raise MapFileError(where, "a connection is an object with from, to and type")
        ends = []
        for side in ("from", "to"):
            ref = str(conn.get(side, "")).strip()
            if ref not in labels:
                raise MapFileError(where, f"'{ref}' is not one of the elements")
            ends.append(labels[ref])
        kind = str(conn.get("type", conn.get("connection type", "")))
        result.add(where, ends[0], ends[1], kind, str(conn.get("delay", "")))
    return result


def read_map(path: Path) -> CausalMapFile:
    text = path.read_text(encoding="utf-8-sig")
    loaded = read_kumu(text) if path.suffix.lower() == ".json" else read_csv(text)
    if not loaded.edges:
        raise MapFileError(str(path), "the map has no links")
    return loaded


def analysis_json(loaded: CausalMapFile, result: Analysis[str]) -> dict[str, Any]:
    return {
        "factors": loaded.factors,
        "loops": [
            {"id": lp.label, "kind": lp.kind, "factors": list(lp.nodes), "length": len(lp.nodes)}
            for lp in result.loops
        ],
        "leverage": [
            {
                "factor": f,
                "loops": result.loop_count[f],
                "betweenness": round(result.betweenness[f], 4),
            }
            for f in result.leverage
        ],
        "truncated": result.truncated,
    }


def to_kumu(loaded: CausalMapFile) -> str:
    return (
        json.dumps(
            {
                "elements": [{"label": f, "type": "factor"} for f in loaded.factors],
                "connections": [
                    {
                        "from": e.source,
                        "to": e.target,
                        "type": "-" if e.opposite else "+",
                        "delay": e.delay,
                    }
                    for e in loaded.edges
                ],
            },
            ensure_ascii=False,
            indent=2,
        )
        + "\n"
    )


def to_csv(loaded: CausalMapFile) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["from", "to", "polarity", "delay"])
    for e in loaded.edges:
        writer.writerow(
            [e.source, e.target, "-" if e.opposite else "+", "yes" if e.delay else "no"]
        )
    return out.getvalue()


def to_graphml(loaded: CausalMapFile) -> str:
    index = {f: i for i, f in enumerate(loaded.factors)}
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
        '  <key id="label" for="node" attr.name="label" attr.type="string"/>',
        '  <key id="polarity" for="edge" attr.name="polarity" attr.type="string"/>',
        '  <key id="delay" for="edge" attr.name="delay" attr.type="boolean"/>',
        '  <graph id="causal-map" edgedefault="directed">',
    ]
    lines += [f'    <node id="n{i}"><data key="label">{escape(f)}</data></node>'
              for f, i in index.items()]  # fmt: skip
    for n, e in enumerate(loaded.edges):
        lines.append(
            f'    <edge id="e{n}" source="n{index[e.source]}" target="n{index[e.target]}">'
            f'<data key="polarity">{"-" if e.opposite else "+"}</data>'
            f'<data key="delay">{"true" if e.delay else "false"}</data></edge>'
        )
    lines += ["  </graph>", "</graphml>"]
    return "\n".join(lines) + "\n"


def from_team_map(tm: TeamMap) -> CausalMapFile:
    names = {f.id: f.name for f in tm.factors}
    return CausalMapFile(
        [f.name for f in tm.factors],
        [
            Edge(
                names[lk.source_id], names[lk.target_id], lk.polarity == Polarity.OPPOSITE, lk.delay
            )
            for lk in tm.links
        ],
    )


def file_diagram(loaded: CausalMapFile, result: Analysis[str], title: str) -> Diagram:
    index = {f: i for i, f in enumerate(loaded.factors)}
    return Diagram(
        title,
        f"{title}: {len(loaded.factors)} factors, {len(loaded.edges)} links, "
        f"{len(result.loops)} loops",
        tuple(loaded.factors),
        tuple(
            DiagramLink(index[e.source], index[e.target], "-" if e.opposite else "+", e.delay)
            for e in loaded.edges
        ),
        tuple(DiagramLoop(lp.label, tuple(index[n] for n in lp.nodes)) for lp in result.loops),
    )


WRITERS = {"kumu": to_kumu, "csv": to_csv, "graphml": to_graphml}
