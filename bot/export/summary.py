"""The session summary as Markdown and JSON files."""

from __future__ import annotations

import re
from typing import Any

from bot.export.diagram import mermaid
from handlers.messages import Diagram, DiagramLink, DiagramLoop
from prompts.catalog import t


def markdown(summary: dict[str, Any], lang: str) -> str:
    s = summary["session"]
    lines = [f"# {t(lang, 'export.title', title=md_escape(s['title']))}", ""]
    lines += [f"**{t(lang, 'export.question')}:** {md_escape(s['question'])}", ""]
    p = summary["participants"]
    lines += [f"## {t(lang, 'export.participants')}", ""]
    lines += [t(lang, "export.participants_total", total=p["total"]), ""]
    lines += [f"- {md_escape(org)}: {count}" for org, count in p["by_organisation"].items()] + [""]
    lines += [f"## {t(lang, 'export.rounds')}", ""]
    for rnd in summary["rounds"]:
        lines += [f"### {rnd['position']}. {rnd['title']}", "", f"_{rnd['question']}_", ""]
        lines += [t(lang, "export.contribution_count", count=rnd["contribution_count"]), ""]
        shown_label = None
        for answer in rnd["contributions"]:
            if answer["category_label"] and answer["category_label"] != shown_label:
                shown_label = answer["category_label"]
                lines += ["", f"**{md_escape(shown_label)}**", ""]
            lines.append(f"- “{md_escape(answer['text'])}”")
        lines.append("")
    if summary["themes"]:
        lines += [f"## {t(lang, 'export.themes')}", ""]
        lines += [
            f"| {t(lang, 'export.theme')} | {t(lang, 'export.votes')} | "
            f"{t(lang, 'export.contributions')} |",
            "|---|---:|---:|",
        ]
        lines += [
            f"| {_cell(th['title'])} | {th['votes']} | {th['contributions']} |"
            for th in summary["themes"]
        ] + [""]
    lines += _system_sections(summary, lang)
    lines += [f"## {t(lang, 'export.commitments')}", ""]
    if summary["commitments"]:
        header = [t(lang, f"export.{k}") for k in ("commitment", "owner", "due", "mode", "status")]
        lines += ["| " + " | ".join(header) + " |", "|---|---|---|---|---|"]
        for c in summary["commitments"]:
            owner = c["owner"] + (f" ({c['organisation']})" if c["organisation"] else "")
            lines.append(
                f"| {_cell(c['text'])} | {_cell(owner)} | {c['due_date']} | "
                f"{c['mode_label']} | {c['status_label']} |"
            )
    else:
        lines.append(t(lang, "export.no_commitments"))
    lines += ["", f"_{t(lang, 'export.credit')}_", ""]
    return "\n".join(lines)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#~])")


def md_escape(text: str) -> str:
    """User text as literal Markdown: no markup, no raw HTML, one line."""
    text = " ".join(text.split())
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MD_SPECIAL.sub(r"\\\1", text)


def diagram_of(summary: dict[str, Any], title: str) -> Diagram | None:
    """The causal map of a summary as a diagram (the same one the chat showed)."""
    if not summary["causal_links"]:
        return None
    names: list[str] = []
    for link in summary["causal_links"]:
        for name in (link["source"], link["target"]):
            if name not in names:
                names.append(name)
    index = {name: i for i, name in enumerate(names)}
    return Diagram(
        title,
        title,
        tuple(names),
        tuple(
            DiagramLink(index[lk["source"]], index[lk["target"]], lk["polarity"], lk["delay"])
            for lk in summary["causal_links"]
        ),
        tuple(
            DiagramLoop(lp["id"], tuple(index[f] for f in lp["factors"])) for lp in summary["loops"]
        ),
    )


def _overview_sections(summary: dict[str, Any], lang: str) -> list[str]:
    lines: list[str] = []
    if summary["actors"]:
        lines += [f"## {t(lang, 'export.actors')}", ""]
        lines += [
            f"| {t(lang, 'export.actor')} | {t(lang, 'export.organisation')} | "
            f"{t(lang, 'export.interest')} | {t(lang, 'export.influence')} | "
            f"{t(lang, 'export.stance')} |",
            "|---|---|---|---:|---|",
        ]
        lines += [
            f"| {_cell(a['name'])} | {_cell(a['organisation'])} | {_cell(a['interest'])} | "
            f"{a['influence']} | {t(lang, 'overview.stances.' + a['stance'])} |"
            for a in summary["actors"]
        ] + [""]
    forces = summary["forces"]
    if forces["driving"] or forces["restraining"]:
        lines += [f"## {t(lang, 'export.forces')}", ""]
        for direction in ("driving", "restraining"):
            label = t(lang, f"rounds.overview.categories.{direction}")
            total = sum(f["strength"] for f in forces[direction])
            lines += [f"**{label}** ({total})", ""]
            lines += [f"- {md_escape(f['text'])} ({f['strength']})" for f in forces[direction]]
            lines.append("")
        lines += [t(lang, "overview.balance", net=forces["net_balance"]), ""]
    return lines


def _system_sections(summary: dict[str, Any], lang: str) -> list[str]:
    lines: list[str] = _overview_sections(summary, lang)
    diagram = diagram_of(summary, t(lang, "export.causal_links"))
    if diagram is not None:
        alt = md_escape(t(lang, "export.map_alt", links=len(summary["causal_links"])))
        lines += [f"## {t(lang, 'export.causal_map')}", "", f"![{alt}](causal-map.svg)", ""]
        lines += ["```mermaid", mermaid(diagram).rstrip(), "```", ""]
    if summary["causal_links"]:
        lines += [f"## {t(lang, 'export.causal_links')}", ""]
        for link in summary["causal_links"]:
            sign = "+" if link["polarity"] == "+" else "−"
            delay = f" ({t(lang, 'export.delay')})" if link["delay"] else ""
            lines.append(
                f"- {md_escape(link['source'])} → {sign} {md_escape(link['target'])}{delay}"
            )
        lines.append("")

    if summary["loops"]:
        lines += [f"## {t(lang, 'export.loops')}", ""]
        for lp in summary["loops"]:
            path = " → ".join(md_escape(f) for f in [*lp["factors"], lp["factors"][0]])
            kind = t(lang, f"export.{lp['kind']}")
            acting = t(lang, "export.acted_on", count=len(lp["commitments"]))
            lines.append(f"- **{lp['id']}** ({kind}): {path} — {acting}")
        if summary["loops_truncated"]:
            lines.append(f"- {t(lang, 'export.loops_truncated')}")
        lines.append("")
    if summary["leverage_questions"]:
        lines += [f"## {t(lang, 'export.questions')}", ""]
        lines += [f"- {md_escape(q)}" for q in summary["leverage_questions"]] + [""]
    spread = summary["iceberg"]
    if any(v["contributions"] or v["commitments"] for v in spread.values()):
        lines += [f"## {t(lang, 'export.iceberg')}", ""]
        lines += [f"| {t(lang, 'export.level')} | {t(lang, 'export.contributions')} | "
                  f"{t(lang, 'export.commitments')} |", "|---|---:|---:|"]  # fmt: skip
        lines += [f"| {v['label']} | {v['contributions']} | {v['commitments']} |"
                  for v in spread.values()] + [""]  # fmt: skip
    return lines


def _cell(text: str) -> str:
    return md_escape(text)
