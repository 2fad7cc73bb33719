"""Planning: a prompt becomes a storyboard.

Two backends behind one interface: a rule-based planner that runs anywhere, and an
OpenAI-compatible chat endpoint when one is configured. Both return a validated Storyboard.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

from generation.pipeline.storyboard import (
    Action,
    Line,
    Prop,
    Shot,
    Storyboard,
    StoryboardError,
    Subject,
)


@dataclass(frozen=True)
class PlanRequest:
    prompt: str
    duration_s: float = 9.0
    aspect: str = "9:16"
    style: str = "natural"
    mood: str | None = None
    dialogue: tuple[str, ...] = ()  # extra lines the user asked for, spoken by the lead
    cast: tuple[tuple[str, str], ...] = ()  # (subject name, cameo id)
    fps: int = 24


class Planner(Protocol):
    name: str

    def plan(self, request: PlanRequest) -> Storyboard: ...


# --- The rule-based planner ---------------------------------------------------------------------
FRAMING_WORDS = [
    (r"\bestablishing\b", "establishing"),
    (r"\bclose[- ]?ups?\b|\bextreme close\b", "close_up"),
    (r"\bmedium\b|\bmid[- ]shot\b", "medium"),
    (r"\bwide\b|\bfull shot\b|\blong shot\b", "wide"),
]
MOVE_WORDS = [
    (r"\bpush(?:es|ing)?[- ]in\b|\bzoom(?:s|ing)? in\b|\bdolly in\b", "push_in"),
    (r"\bpull(?:s|ing)?[- ](?:out|back)\b|\bzoom(?:s|ing)? out\b", "pull_out"),
    (r"\bpan(?:s|ning)?\b|\btracking\b", "pan"),
]
SETTING_WORDS = {
    "kitchen": "kitchen",
    "beach": "beach",
    "sea": "beach",
    "park": "park",
    "garden": "park",
    "street": "street",
    "city": "street",
    "forest": "forest",
    "woods": "forest",
    "office": "office",
    "studio": "studio",
}
LIGHTING_WORDS = {
    "night": "night",
    "moon": "night",
    "sunset": "golden_hour",
    "golden": "golden_hour",
    "studio": "studio",
}
MOOD_WORDS = {
    "happy": "upbeat",
    "fun": "upbeat",
    "upbeat": "upbeat",
    "calm": "calm",
    "peaceful": "calm",
    "relaxed": "calm",
    "spooky": "tense",
    "scary": "tense",
    "tense": "tense",
    "suspense": "tense",
    "sad": "sad",
    "melancholy": "sad",
    "epic": "epic",
    "heroic": "epic",
    "funny": "funny",
    "silly": "funny",
    "prank": "funny",
    "comedy": "funny",
}
SUBJECT_WORDS = {
    "dog": "dog",
    "puppy": "dog",
    "cat": "cat",
    "kitten": "cat",
    "robot": "robot",
    "man": "person",
    "woman": "person",
    "girl": "person",
    "boy": "person",
    "person": "person",
    "chef": "person",
    "skater": "person",
    "dancer": "person",
    "kid": "person",
    "friend": "person",
    "teacher": "person",
    "runner": "person",
}
VERB_WORDS = [
    (r"\bknock(?:s|ed|ing)? (?:over|down)\b", "knock_over"),
    (r"\bjump(?:s|ed|ing)?\b|\bleap(?:s|t|ed|ing)?\b|\bhop(?:s|ped|ping)?\b", "jump"),
    (r"\brun(?:s|ning)?\b|\bran\b|\bsprint(?:s|ing)?\b", "run"),
    (r"\bwalk(?:s|ed|ing)?\b|\bstroll(?:s|ing)?\b", "walk"),
    (r"\bwav(?:e|es|ed|ing)\b", "wave"),
    (r"\bdanc(?:e|es|ed|ing)\b", "dance"),
    (r"\bsit(?:s|ting)?\b|\bsat\b", "sit"),
]
PROP_WORDS = ("vase", "chair", "ball", "cup", "box", "lamp")
QUOTE = re.compile(r"[\"“”]([^\"“”]+)[\"“”]")
COLORS = [(220, 90, 60), (60, 130, 220), (90, 180, 90), (200, 170, 40), (170, 80, 200)]


def _sentences(prompt: str) -> list[str]:
    # Split on sentence ends and on "then", but never inside quotes.
    parts: list[str] = []
    for chunk in re.split(r"(\"[^\"]*\"|“[^”]*”)", prompt):
        if chunk.startswith(('"', "“")):
            parts[-1:] = [(parts[-1] if parts else "") + chunk]
            continue
        pieces = re.split(r"(?<=[.!?;])\s+|\bthen\b", chunk)
        if parts and pieces:
            parts[-1] += pieces.pop(0)
        parts.extend(pieces)
    return [p.strip(" .;") for p in parts if p and p.strip(" .;")]


def _first(patterns: list[tuple[str, str]], text: str) -> str | None:
    for pattern, value in patterns:
        if re.search(pattern, text):
            return value
    return None


def _verbs_in_order(text: str) -> list[str]:
    found = []
    for pattern, verb in VERB_WORDS:
        match = re.search(pattern, text)
        if match:
            found.append((match.start(), verb))
    return [verb for _, verb in sorted(found)]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


class RuleBasedPlanner:
    name = "rules-v1"

    def plan(self, request: PlanRequest) -> Storyboard:
        text = request.prompt.strip()
        if not text:
            raise StoryboardError("prompt", "Say what should happen in the video.")
        lowered = QUOTE.sub("", text.lower())
        words = _words(lowered)
        subjects = self._subjects(request, words)
        props = [Prop(name=p, x=2.4 + 0.6 * i) for i, p in enumerate(PROP_WORDS) if p in words]
        candidates = [self._shot(s, subjects, props) for s in _sentences(text)]
        shots = [s for s in candidates if s is not None] or self._default_shots(subjects)
        self._add_requested_dialogue(shots, subjects, request.dialogue)
        for shot in shots:
            shot.duration_s = round(request.duration_s / len(shots), 3)
        board = Storyboard(
            shots=shots,
            subjects=subjects,
            props=props,
            setting=next((SETTING_WORDS[w] for w in words if w in SETTING_WORDS), "studio"),
            lighting=next((LIGHTING_WORDS[w] for w in words if w in LIGHTING_WORDS), "day"),
            mood=request.mood or next((MOOD_WORDS[w] for w in words if w in MOOD_WORDS), "upbeat"),
            style=request.style,
            aspect=request.aspect,
            fps=request.fps,
            planner=self.name,
        )
        board.validate()
        return board

    def _subjects(self, request: PlanRequest, words: list[str]) -> list[Subject]:
        subjects = [Subject(name=name, cameo_id=cameo) for name, cameo in request.cast]
        for word in words:
            if word in SUBJECT_WORDS and word not in {s.name for s in subjects}:
                subjects.append(Subject(name=word, kind=SUBJECT_WORDS[word]))
        if not subjects:
            subjects.append(Subject(name="host"))
        for i, subject in enumerate(subjects):
            subject.color = COLORS[i % len(COLORS)]
        return subjects[:4]

    def _shot(self, sentence: str, subjects: list[Subject], props: list[Prop]) -> Shot | None:
        lowered = QUOTE.sub("", sentence.lower())
        framing = _first(FRAMING_WORDS, lowered)
        verbs = _verbs_in_order(lowered)
        quotes = QUOTE.findall(sentence)
        if framing is None and not verbs and not quotes:
            return None  # scene-setting words only: they shaped setting, mood and props
        named = [
            s.name for s in subjects if re.search(rf"\b{re.escape(s.name.lower())}\b", lowered)
        ]
        present = named or [subjects[0].name]
        shot = Shot(
            framing=framing or "medium",
            camera_move=_first(MOVE_WORDS, lowered) or "static",
            subjects=[s.name for s in subjects],  # everyone stays in the scene; framing picks
        )
        at = 0.3
        for text in quotes:
            shot.dialogue.append(Line(speaker=present[0], text=text.strip(), at_s=at))
            at += 0.4 + 0.07 * len(text.split())
        target = next((p.name for p in props if p.name in _words(lowered)), None)
        start = min(at, 1.0)
        for i, verb in enumerate(verbs):
            shot.actions.append(
                Action(
                    subject=present[0],
                    verb=verb,
                    at_s=round(start + 1.1 * i, 2),
                    target=target if verb == "knock_over" else None,
                )
            )
        return shot

    def _default_shots(self, subjects: list[Subject]) -> list[Shot]:
        names = [s.name for s in subjects]
        return [
            Shot(framing="establishing", camera_move="pan", subjects=names),
            Shot(framing="medium", subjects=names, actions=[Action(names[0], "wave", 0.5)]),
            Shot(framing="close_up", camera_move="push_in", subjects=names),
        ]

    def _add_requested_dialogue(
        self, shots: list[Shot], subjects: list[Subject], lines: tuple[str, ...]
    ) -> None:
        # Extra lines go to the tightest shot: dialogue reads best in close-up.
        if not lines:
            return
        order = {"close_up": 0, "medium": 1, "wide": 2, "establishing": 3}
        shot = min(shots, key=lambda s: order[s.framing])
        for text in lines:
            at = 0.3 + sum(0.4 + 0.07 * len(d.text.split()) for d in shot.dialogue)
            shot.dialogue.append(Line(speaker=subjects[0].name, text=text, at_s=at))


# --- The LLM planner ---------------------------------------------------------------------------
SYSTEM_PROMPT = (
    "You plan short vertical videos. Answer with JSON only: a storyboard object with keys "
    "shots (list of {framing: establishing|wide|medium|close_up, camera_move: "
    "static|pan|push_in|pull_out, duration_s, subjects: [names], actions: [{subject, verb: "
    "stand|walk|run|jump|wave|dance|sit|knock_over, at_s, target}], dialogue: [{speaker, text, "
    "at_s}]}), subjects ([{name, kind: person|dog|cat|robot}]), props ([{name, x}]), setting "
    "(studio|street|park|kitchen|beach|forest|office), lighting (day|night|golden_hour|studio), "
    "mood (upbeat|calm|tense|sad|epic|funny)."
)


@dataclass
class LLMPlanner:
    """A planner backed by any OpenAI-compatible chat completions endpoint."""

    base_url: str
    model: str
    api_key: str = ""
    timeout_s: float = 30.0
    name: str = field(init=False)

    def __post_init__(self) -> None:
        self.name = f"llm:{self.model}"

    def plan(self, request: PlanRequest) -> Storyboard:
        body = {
            "model": self.model,
            "response_format": {"type": "json_object"},
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {
                    "role": "user",
                    "content": json.dumps(
                        {
                            "prompt": request.prompt,
                            "duration_s": request.duration_s,
                            "cast": [name for name, _ in request.cast],
                            "dialogue": request.dialogue,
                        }
                    ),
                },
            ],
        }
        reply = self._post(body)
        try:
            content = reply["choices"][0]["message"]["content"]
            data = json.loads(content)
        except (KeyError, IndexError, TypeError, json.JSONDecodeError) as exc:
            raise StoryboardError("planner", f"The planner's answer was not JSON: {exc}") from None
        data.update(aspect=request.aspect, style=request.style, fps=request.fps, planner=self.name)
        if request.mood:
            data["mood"] = request.mood
        board = Storyboard.from_dict(data)
        for name, cameo in request.cast:
            for subject in board.subjects:
                if subject.name == name:
                    subject.cameo_id = cameo
        return board

    def _post(self, body: dict) -> dict:
        req = urllib.request.Request(
            f"{self.base_url.rstrip('/')}/chat/completions",
            data=json.dumps(body).encode(),
            headers={
                "Content-Type": "application/json",
                **({"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}),
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as response:
                return json.load(response)
        except OSError as exc:
            raise StoryboardError("planner", f"The planner endpoint failed: {exc}") from None


def planner_from_config(base_url: str = "", model: str = "", api_key: str = "") -> Planner:
    if base_url and model:
        return LLMPlanner(base_url=base_url, model=model, api_key=api_key)
    return RuleBasedPlanner()
