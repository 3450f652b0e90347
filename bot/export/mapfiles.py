"""Causal maps as files, for analysts and other tools: CSV and Kumu JSON in; Kumu JSON,
GraphML and CSV out. Errors say where (line or connection) and what is wrong; what is read but
doubtful (a link given twice with two signs, a link without a sign) is kept and reported.

Kumu (docs.kumu.io, "JSON / Blueprints" and "Export JSON"): a project backup keeps each item's
label and type under `attributes` and links elements by `_id`; a hand-written blueprint puts
`label` and `type` on the item and may link by label. Both are read. Elements with the same
label stay separate factors, shown as "label (id)".
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from handlers.causal_words import factor_key, parse_polarity
from handlers.loops import (
    Analysis,
    Edge,
    Loop,
    canonical,
    conflicts,
    merge_edges,
    micmac,
    off_picture,
)
from handlers.model import Polarity

if TYPE_CHECKING:  # reading and analysing a file needs neither chat nor pictures
    from handlers.messages import Diagram
    from handlers.systems import TeamMap

_TRUE = {"1", "true", "yes", "ja", "y", "j", "delay", "delayed", "vertraging", "x"}
_FALSE = {"", "0", "false", "no", "nee", "n"}
# Kumu's documented connection types for causality (systems template, Systems Practice).
_KUMU_SAME = {"+", "++", "--", "same", "s", "adds to", "adds to / same direction"}
_KUMU_OPPOSITE = {"-", "+-", "-+", "opposite", "o", "subtracts from",
                  "subtracts from / opposite direction"}  # fmt: skip
POLARITY_FORMS = "+ - ++ -- +- -+ same opposite"
_LABEL_KIND = re.compile(r"\s*([RB])\d*(?![A-Za-z])")


class MapFileError(ValueError):
    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class NamedLoop:
    """A loop the team drew and named in its own tool (Kumu's loops)."""

    label: str
    links: tuple[tuple[str, str], ...]  # (from, to) factor names


@dataclass
class CausalMapFile:
    factors: list[str]  # unique names as shown (same-label Kumu elements: "label (id)")
    edges: list[Edge[str]]
    where: list[str] = field(default_factory=list)  # per edge: "line 3", "connection 7"
    ids: dict[str, str] = field(default_factory=dict)  # name -> Kumu element id
    labels: dict[str, str] = field(default_factory=dict)  # name -> label as the tool had it
    loops: list[NamedLoop] = field(default_factory=list)
    unsigned: list[str] = field(default_factory=list)  # where a link had no polarity

    def name(self, raw: str) -> str:
        """The factor this CSV name is (case, spacing and punctuation aside), made if new."""
        raw = raw.strip()
        key = _key(raw)
        for known in self.factors:
            if _key(known) == key:
                return known
        self.factors.append(raw)
        return raw

    def link(self, where: str, source: str, target: str, polarity: str, delay: str) -> Edge[str]:
        """One link (both names already resolved); polarity and delay as written."""
        opposite, unknown = read_polarity(where, polarity)
        flag = delay.strip().casefold()
        if flag not in _TRUE | _FALSE:
            raise MapFileError(where, f"unknown delay '{delay}' (use yes or no)")
        if unknown and where not in self.unsigned[-1:]:  # a mutual link is one place
            self.unsigned.append(where)
        edge = Edge(source, target, opposite, flag in _TRUE, unknown)
        self.edges.append(edge)
        self.where.append(where)
        return edge

    def add(self, where: str, source: str, target: str, polarity: str, delay: str) -> None:
        if not source.strip() or not target.strip():
            raise MapFileError(where, "both ends of a link need a factor name")
        self.link(where, self.name(source), self.name(target), polarity, delay)

    def conflicts(self) -> list[dict[str, Any]]:
        """Links given more than once with different signs: reported, never chosen between."""
        found = []
        for source, target in conflicts(self.edges):
            places = [w for e, w in zip(self.edges, self.where, strict=True)
                      if (e.source, e.target) == (source, target)]  # fmt: skip
            found.append({"from": source, "to": target, "where": places})
        return found


def _key(name: str) -> str:
    """A name of punctuation alone ("?", "!!!") has no factor key: it is itself, so two such
    names stay two factors (a map file is read as it is; the chat refuses them)."""
    return factor_key(name) or name


def read_polarity(where: str, text: str) -> tuple[bool, bool]:
    """(opposite, unknown) from a polarity as people and tools write it; empty is unknown."""
    word = " ".join(str(text).split()).casefold()
    if not word:
        return False, True
    if word in _KUMU_SAME:
        return False, False
    if word in _KUMU_OPPOSITE:
        return True, False
    sign = parse_polarity(word)
    if sign is None:
        raise MapFileError(where, f"unknown polarity '{text}' (use one of {POLARITY_FORMS})")
    return sign == Polarity.OPPOSITE, False


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


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    """A Kumu item's fields: a backup keeps them under `attributes`, a blueprint on the item."""
    attributes = item.get("attributes")
    merged = {str(k).casefold(): v for k, v in item.items() if k != "attributes"}
    if isinstance(attributes, dict):
        merged.update({str(k).casefold(): v for k, v in attributes.items()})
    return merged


def _text(value: object) -> str:
    """A Kumu field as one line of text; JSON null is no text (not "None")."""
    return " ".join(str(value).split()) if value is not None else ""


def read_kumu(text: str) -> CausalMapFile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise MapFileError(f"line {exc.lineno}", f"not valid JSON ({exc.msg})") from None
    if not isinstance(data, dict) or not isinstance(data.get("connections"), list):
        raise MapFileError("line 1", 'a Kumu map needs "elements" and "connections" lists')
    elements = [e for e in data.get("elements", []) if isinstance(e, dict)]
    raw = []
    for number, element in enumerate(elements, start=1):
        info = _fields(element)
        label = _text(info.get("label"))
        ident = _text(element.get("_id", element.get("id")))
        if not label and not ident:
            raise MapFileError(f"element {number}", "an element needs a label or an id")
        raw.append((ident or label, label or ident))
    same = {label for label in (lb for _, lb in raw) if sum(lb == label for _, lb in raw) > 1}
    result = CausalMapFile([], [])
    by_ref: dict[str, str] = {}
    by_label: dict[str, list[str]] = {}
    for ident, label in raw:
        name = f"{label} ({ident})" if label in same else label
        result.factors.append(name)
        result.ids[name] = ident
        result.labels[name] = label
        by_ref[ident] = name
        by_label.setdefault(label, []).append(name)
    conn_links: dict[str, list[tuple[str, str]]] = {}
    for number, conn in enumerate(data["connections"], start=1):
        where = f"connection {number}"
        if not isinstance(conn, dict):
            raise MapFileError(where, "a connection is an object with from, to and type")
        info = _fields(conn)
        ends = []
        for side in ("from", "to"):
            ref = _text(conn.get(side))
            if ref in by_ref:
                ends.append(by_ref[ref])
            elif len(by_label.get(ref, [])) == 1:
                ends.append(by_label[ref][0])
            elif ref in by_label:
                raise MapFileError(where, f"'{ref}' is the label of more than one element; "
                                          "link them by id")  # fmt: skip
            else:
                raise MapFileError(where, f"'{ref}' is not one of the elements")
        if conn.get("reversed") is True:
            ends.reverse()  # Kumu's "reverse": the arrow points from `to` to `from`
        kind = info.get("connection type", info.get("type", ""))
        delayed = conn.get("delayed", info.get("delay", info.get("delayed", "")))
        delay = "yes" if delayed is True else "no" if delayed is False else str(delayed)
        direction = str(conn.get("direction", "directed")).strip().casefold() or "directed"
        if direction not in ("directed", "mutual", "undirected"):
            raise MapFileError(where, f"unknown direction '{direction}' "
                                      "(Kumu writes directed, mutual or undirected)")  # fmt: skip
        pairs = [(ends[0], ends[1])]
        if direction != "directed":  # both ways: each end acts on the other
            pairs.append((ends[1], ends[0]))
        for source, target in pairs:
            result.link(where, source, target, str(kind if kind is not None else ""), delay)
        ident = str(conn.get("_id", conn.get("id", "")))
        if ident:
            conn_links[ident] = pairs
    for number, item in enumerate(data.get("loops", []) or [], start=1):
        if not isinstance(item, dict):
            continue
        info = _fields(item)
        listed = item.get("connections")
        refs = [str(c) for c in listed if str(c) in conn_links] if isinstance(listed, list) else []
        links = tuple(pair for ref in refs for pair in conn_links[ref])
        label = _text(info.get("label")) or f"loop {number}"
        if links:
            result.loops.append(NamedLoop(label, links))
    return result


def read_map(path: Path) -> CausalMapFile:
    text = path.read_text(encoding="utf-8-sig")
    loaded = read_kumu(text) if path.suffix.lower() == ".json" else read_csv(text)
    if not loaded.edges:
        raise MapFileError(str(path), "the map has no links")
    return loaded


def _pairs(lp: Loop[str]) -> frozenset[tuple[str, str]]:
    n = len(lp.nodes)
    return frozenset((lp.nodes[i], lp.nodes[(i + 1) % n]) for i in range(n))


def analysis_json(loaded: CausalMapFile, result: Analysis[str]) -> dict[str, Any]:
    """Everything in a fixed order (never the rows'), so shuffled rows print the same."""
    by_pairs = {_pairs(lp): lp for lp in result.loops}
    places = micmac(result)
    search = result.search
    named = []
    for nl in sorted(loaded.loops, key=lambda n: (n.label.casefold(), n.links)):
        match = by_pairs.get(frozenset(nl.links))
        says = _LABEL_KIND.match(nl.label)
        label_says = ("reinforcing" if says.group(1) == "R" else "balancing") if says else None
        named.append({
            "label": nl.label,
            "links": len(set(nl.links)),
            "found_as": match.label if match else None,
            "kind": match.kind if match else None,
            # Kumu's guide names loops "R: …", "B12: …": does the team's R/B fit the signs?
            "label_says": label_says,
            "agrees": None if not (label_says and match) else label_says == match.kind,
        })  # fmt: skip
    return {
        "factors": canonical(loaded.factors),
        "loops": [
            {
                "id": lp.label,
                "kind": lp.kind,
                "factors": list(lp.nodes),
                "length": len(lp.nodes),
                "delays": lp.delays,
                "group": lp.group,
                "core": lp.core,
            }
            for lp in result.loops
        ],
        "groups": [list(g) for g in result.groups],
        "leverage": [
            {
                "factor": f,
                "loops": result.loop_count[f],
                "reinforcing": result.reinforcing[f],
                "balancing": result.balancing[f],
                "betweenness": round(result.betweenness[f], 4),
                "influence": result.influence[f],
                "dependence": result.dependence[f],
                "micmac": places[f],
            }
            for f in result.leverage
        ],
        "truncated": result.truncated,
        "bound": search.bound or None,
        "complete_to_length": search.complete_to,
        "hidden_loops_at_least": search.hidden,
        "more_loops_possible": search.more_possible,
        "feedback_links_on_no_listed_loop": result.uncovered,
        "conflicts": loaded.conflicts(),
        "unsigned_links": loaded.unsigned,
        "named_loops": named,
    }


def _loop_names(lp: Loop[str]) -> tuple[tuple[str, str], ...]:
    n = len(lp.nodes)
    return tuple((lp.nodes[i], lp.nodes[(i + 1) % n]) for i in range(n))


def to_kumu(loaded: CausalMapFile) -> str:
    """A Kumu blueprint: what Kumu's JSON import reads (label, type, from/to by id, direction,
    delayed) and the loops, by the ids of their connections."""
    ids = {f: loaded.ids.get(f) or f"elem-{i + 1}" for i, f in enumerate(loaded.factors)}
    merged = merge_edges(loaded.edges)
    conn_ids = {pair: f"conn-{i + 1}" for i, pair in enumerate(merged)}
    connections = []
    for pair, e in merged.items():
        item: dict[str, Any] = {
            "id": conn_ids[pair],
            "from": ids[e.source],
            "to": ids[e.target],
            "direction": "directed",
            "delayed": e.delay,
        }
        if not e.unknown:
            item["type"] = "-" if e.opposite else "+"
        connections.append(item)
    loops = [
        {"id": f"loop-{i + 1}", "label": nl.label,
         "connections": [conn_ids[p] for p in nl.links if p in conn_ids]}
        for i, nl in enumerate(loaded.loops)
    ]  # fmt: skip
    blueprint: dict[str, Any] = {
        "elements": [
            {"id": ids[f], "label": loaded.labels.get(f, f), "type": "factor"}
            for f in loaded.factors
        ],
        "connections": connections,
    }
    if loops:
        blueprint["loops"] = loops
    return json.dumps(blueprint, ensure_ascii=False, indent=2) + "\n"


def _sign(e: Edge[str]) -> str:
    return "" if e.unknown else "-" if e.opposite else "+"


def to_csv(loaded: CausalMapFile) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["from", "to", "polarity", "delay"])
    for e in loaded.edges:
        writer.writerow([e.source, e.target, _sign(e), "yes" if e.delay else "no"])
    return out.getvalue()


def escape(text: str) -> str:
    """XML text (xml.sax.saxutils would import urllib and http.client for this)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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
            f'<data key="polarity">{_sign(e)}</data>'
            f'<data key="delay">{"true" if e.delay else "false"}</data></edge>'
        )
    lines += ["  </graph>", "</graphml>"]
    return "\n".join(lines) + "\n"


def from_team_map(tm: TeamMap) -> CausalMapFile:
    names = {f.id: f.name for f in tm.factors}
    loaded = CausalMapFile(
        [f.name for f in tm.factors],
        [
            Edge(
                names[lk.source_id], names[lk.target_id], lk.polarity == Polarity.OPPOSITE, lk.delay
            )
            for lk in tm.links
        ],
    )
    for lp in tm.analysis.loops:
        shown = Loop(tuple(names[n] for n in lp.nodes), lp.opposite_links, lp.delays, lp.label)
        loaded.loops.append(NamedLoop(lp.label, _loop_names(shown)))
    return loaded


def file_diagram(loaded: CausalMapFile, result: Analysis[str], title: str) -> Diagram:
    from handlers.messages import Diagram, DiagramLink, DiagramLoop

    factors = canonical(loaded.factors)
    index = {f: i for i, f in enumerate(factors)}
    merged = merge_edges(loaded.edges)
    left_out = off_picture(factors, merged.values())
    note = f" ({left_out} factors on no loop are not drawn)" if left_out else ""
    return Diagram(
        title,
        f"{title}: {len(factors)} factors, {len(merged)} links, {len(result.loops)} loops{note}",
        tuple(factors),
        tuple(
            DiagramLink(
                index[e.source],
                index[e.target],
                "?" if e.unknown else "-" if e.opposite else "+",
                e.delay,
            )
            for e in sorted(merged.values(), key=lambda e: (index[e.source], index[e.target]))
        ),
        tuple(DiagramLoop(lp.label, tuple(index[n] for n in lp.nodes)) for lp in result.loops),
    )


WRITERS = {"kumu": to_kumu, "csv": to_csv, "graphml": to_graphml}
