"""The rule catalogue names every rule the engine refuses by, and nothing else."""

from __future__ import annotations

import re
from pathlib import Path

import msinfusion
from msinfusion.session.rule_catalogue import RULES, RuleKind, soft_rules

SRC = Path(msinfusion.__file__).parent
REFUSAL = re.compile(r'CommandRefused\(\s*"([a-z0-9-]+)"')
RULE_VARIABLE = re.compile(r'rule = "([a-z-]+)" if .* else "([a-z-]+)"')


def _raised_rules() -> set[str]:
    found: set[str] = set()
    application = SRC / "application"
    for path in [
        *(SRC / "session").glob("*.py"),
        *(application / name for name in ("session_streams.py", "sessions.py")),
        application / "reaction_history.py",
        application / "chair_safety.py",
        application / "bag_check.py",
    ]:
        text = path.read_text()
        found |= set(REFUSAL.findall(text))
        for pair in RULE_VARIABLE.findall(text):
            found |= set(pair)
    return found


def test_every_refusal_in_the_engine_is_catalogued_and_every_rule_is_raised() -> None:
    raised = _raised_rules()
    assert raised - set(RULES) == set()
    assert set(RULES) - raised == set()


def test_only_the_premedication_window_manual_re_escalation_and_news2_are_soft() -> None:
    assert {r.name for r in soft_rules()} == {
        "premedication-window",
        "re-escalation-manual",
        "reaction-news2",
    }
    assert all(r.override_action == "override_soft_limit" for r in soft_rules())
    hard = [r for r in RULES.values() if r.kind is RuleKind.HARD]
    assert all(r.override_action is None for r in hard)
    assert {"max-rate", "ladder-step", "therapy-discontinued"} <= {r.name for r in hard}
