from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

import pytest

from generation.pipeline.plan import LLMPlanner, PlanRequest, RuleBasedPlanner, planner_from_config
from generation.pipeline.storyboard import Storyboard, StoryboardError

PROMPT = (
    "Wide shot of a kitchen at sunset: a chef walks to the counter. "
    "Medium shot, the camera pushes in: the chef jumps and knocks over the vase. "
    'Close-up: the chef says "That was not supposed to happen!"'
)


def test_the_rule_planner_reads_shots_subjects_setting_actions_and_quoted_dialogue() -> None:
    board = RuleBasedPlanner().plan(PlanRequest(prompt=PROMPT, duration_s=9))
    assert [s.framing for s in board.shots] == ["wide", "medium", "close_up"]
    assert [s.camera_move for s in board.shots] == ["static", "push_in", "static"]
    assert (board.setting, board.lighting) == ("kitchen", "golden_hour")
    assert [s.name for s in board.subjects] == ["chef"] and [p.name for p in board.props] == [
        "vase"
    ]
    verbs = [(a.verb, a.target) for a in board.shots[1].actions]
    assert verbs == [("jump", None), ("knock_over", "vase")]
    line = board.shots[2].dialogue[0]
    assert (line.speaker, line.text) == ("chef", "That was not supposed to happen!")
    assert board.duration_s == pytest.approx(9)
    assert board.planner == "rules-v1"


def test_moods_and_cast_cameos_are_understood() -> None:
    board = RuleBasedPlanner().plan(
        PlanRequest(prompt="A spooky night in the forest. Maya waves.", cast=(("Maya", "c-1"),))
    )
    assert (board.mood, board.lighting, board.setting) == ("tense", "night", "forest")
    assert board.subjects[0].name == "Maya" and board.subjects[0].cameo_id == "c-1"
    assert board.shots[0].actions[0].subject == "Maya"


def test_a_prompt_without_shot_words_still_gets_a_varied_storyboard() -> None:
    board = RuleBasedPlanner().plan(PlanRequest(prompt="A calm beach.", duration_s=6))
    assert [s.framing for s in board.shots] == ["establishing", "medium", "close_up"]
    assert board.setting == "beach" and board.mood == "calm"


def test_a_storyboard_survives_a_round_trip_through_the_client() -> None:
    board = RuleBasedPlanner().plan(PlanRequest(prompt=PROMPT))
    edited = board.as_dict()
    edited["shots"][0]["framing"] = "establishing"
    again = Storyboard.from_dict(json.loads(json.dumps(edited)))
    assert again.shots[0].framing == "establishing"
    assert again.shots[1].actions[1].target == "vase"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d["shots"][0].update(framing="drone"), "shots[0].framing"),
        (lambda d: d["shots"][1]["actions"][0].update(subject="ghost"), "shots[1].actions"),
        (lambda d: d.update(setting="moon"), "setting"),
        (lambda d: d["shots"][0].update(duration_s=30), "shots[0].duration_s"),
        (lambda d: d.update(shots=[]), "shots"),
    ],
)
def test_an_edited_storyboard_that_cannot_render_names_the_field(change: Any, field: str) -> None:
    data = RuleBasedPlanner().plan(PlanRequest(prompt=PROMPT)).as_dict()
    change(data)
    with pytest.raises(StoryboardError) as raised:
        Storyboard.from_dict(data)
    assert raised.value.field == field


def test_an_empty_prompt_is_refused() -> None:
    with pytest.raises(StoryboardError):
        RuleBasedPlanner().plan(PlanRequest(prompt="   "))


# --- The LLM backend, against an OpenAI-compatible endpoint on localhost -----------------------
class _Endpoint(BaseHTTPRequestHandler):
    answer: dict[str, Any] = {}
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        length = int(self.headers["Content-Length"])
        _Endpoint.seen.append(
            {
                "path": self.path,
                "body": json.loads(self.rfile.read(length)),
                "auth": self.headers.get("Authorization"),
            }
        )
        payload = json.dumps(
            {"choices": [{"message": {"content": json.dumps(_Endpoint.answer)}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def endpoint() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Endpoint.seen = []
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


def test_the_llm_planner_asks_the_endpoint_and_validates_its_storyboard(endpoint: str) -> None:
    _Endpoint.answer = {
        "subjects": [{"name": "Maya", "kind": "person"}],
        "setting": "park",
        "mood": "funny",
        "shots": [
            {
                "framing": "wide",
                "duration_s": 2,
                "actions": [{"subject": "Maya", "verb": "jump", "at_s": 0.5}],
            }
        ],
    }
    planner = planner_from_config(base_url=endpoint, model="tiny-planner", api_key="k")
    board = planner.plan(PlanRequest(prompt="Maya jumps in the park", cast=(("Maya", "c-9"),)))
    assert board.planner == "llm:tiny-planner" and board.setting == "park"
    assert board.subjects[0].cameo_id == "c-9"
    request = _Endpoint.seen[0]
    assert request["path"] == "/v1/chat/completions" and request["auth"] == "Bearer k"
    assert request["body"]["model"] == "tiny-planner"


def test_an_llm_storyboard_that_does_not_validate_is_refused(endpoint: str) -> None:
    _Endpoint.answer = {"shots": [{"framing": "sideways"}]}
    with pytest.raises(StoryboardError):
        LLMPlanner(base_url=endpoint, model="m").plan(PlanRequest(prompt="anything"))


def test_without_an_endpoint_the_rule_planner_is_used() -> None:
    assert planner_from_config().name == "rules-v1"
