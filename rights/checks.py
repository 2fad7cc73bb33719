"""The registry's automated checks (config.screens): protected names in a request's texts,
protected logos in a rendered output. Registered in RightsConfig.ready."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.screens import Subject, Verdict
from generation.pipeline.probe import ProbeError, probe
from rights.logos import features_unpack, video_logos
from rights.models import Mark
from rights.selectors import licensed_mark_ids, logo_marks_for, text_marks
from rights.terms import found_terms

MARKS = "rights.marks"
LOGOS = "rights.logos"


def _text_verdict(mark: Mark, fields: list[str], licensed: set[Any]) -> Verdict:
    detail = {
        "holder": mark.holder.display_name,
        "mark": mark.name,
        "mark_id": str(mark.id),
        "policy": mark.policy,
        "fields": fields,
    }
    if mark.policy == Mark.Policy.ALLOWED:
        return Verdict(MARKS, "pass", detail=detail)
    if mark.policy == Mark.Policy.LICENSED and mark.id in licensed:
        return Verdict(MARKS, "pass", detail={**detail, "licensed": True})
    if mark.policy == Mark.Policy.LICENSED:
        change = f"remove it, or ask {mark.holder.display_name} for a license"
    else:
        change = "remove it: its holder allows no one to use it"
    reason = (
        f"“{mark.name}” is a protected mark of {mark.holder.display_name} "
        f"(in {', '.join(fields)}): {change}."
    )
    return Verdict(MARKS, "refuse", code="protected_mark", reason=reason, detail=detail)


def marks_in_request(subject: Subject) -> list[Verdict]:
    """Point.REQUEST: one verdict per registered name or character the texts mention."""
    texts = {key: text for key, text in subject.texts.items() if text}
    marks = list(text_marks()) if texts else []
    found = found_terms(texts, [t for m in marks for t in m.terms])
    if not found:
        return [Verdict(MARKS, "pass")]
    licensed = licensed_mark_ids(user=subject.user)
    verdicts = []
    for mark in marks:
        fields = sorted({key for term in mark.terms for key in found.get(term, [])})
        if fields:
            verdicts.append(_text_verdict(mark, fields, licensed))
    return verdicts


def logos_in_output(subject: Subject) -> list[Verdict]:
    """Point.OUTPUT: hold the video for review when a protected logo shows in its frames."""
    marks = logo_marks_for(user=subject.user) if subject.path is not None else []
    if not marks or subject.path is None:
        return [Verdict(LOGOS, "pass")]
    try:
        media = probe(Path(subject.path))
    except ProbeError:
        return [Verdict(LOGOS, "pass", detail={"skipped": "unreadable"})]
    logos = {str(m.id): features_unpack(m.logo_features) for m in marks if m.logo_features}
    found = video_logos(Path(subject.path), logos, width=media.width, height=media.height)
    by_id = {str(m.id): m for m in marks}
    verdicts = []
    for key, match in found.items():
        mark = by_id[key]
        reason = (
            f"The video shows “{mark.name}”, a protected logo of {mark.holder.display_name}, "
            f"at {match.time_s:.1f} s: a moderator reviews it before it can be posted."
        )
        detail = {
            "holder": mark.holder.display_name,
            "mark": mark.name,
            "mark_id": key,
            "time_s": match.time_s,
            "inliers": match.inliers,
            "box": match.box,
        }
        verdicts.append(Verdict(LOGOS, "hold", code="protected_logo", reason=reason, detail=detail))
    return verdicts or [Verdict(LOGOS, "pass", detail={"logos_checked": len(logos)})]
