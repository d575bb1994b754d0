"""The monitor's issue outcome takes the forge's number and address only as what they must be."""

from __future__ import annotations

import pytest

from ci_mlops.github.issues import issue_outcome


def test_a_number_and_an_address_pass_through():
    assert issue_outcome("opened", 12, "https://forge/o/r/issues/12") == {
        "action": "opened", "number": 12, "url": "https://forge/o/r/issues/12"}


@pytest.mark.parametrize(("number", "url"), [(None, None), ("12", None), (True, 5), (12.0, ["x"])])
def test_anything_else_the_answer_holds_is_none(number, url):
    outcome = issue_outcome("updated", number, url)
    assert outcome["number"] is None and outcome["url"] is None
