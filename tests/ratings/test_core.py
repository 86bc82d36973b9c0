"""Majority vote, percentages, tie rule, blinded orders and undo (core/ratings.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dfecs_app.core.ratings import (
    CommandStack,
    SetVote,
    Vote,
    blinded_order,
    blinded_orders,
    majority_vote,
    summarize,
    vote_matrix,
)

from .conftest import VOLUNTEERS


def test_table1_reproduces_the_papers_numbers(table1) -> None:
    names, votes, paper_majority = table1
    s = summarize(votes, names, VOLUNTEERS)
    np.testing.assert_allclose(s.rater_percent, [87.5, 87.5, 81.25])
    assert s.majority_percent == pytest.approx(87.5)
    assert s.non_interpretable == ["Component 6", "Component 9"]
    np.testing.assert_array_equal(s.majority, paper_majority)


def test_table2_reproduces_the_papers_numbers(table2) -> None:
    names, votes, paper_majority = table2
    s = summarize(votes, names, VOLUNTEERS)
    np.testing.assert_allclose(s.rater_percent, [56.25, 75.0, 56.25])
    assert s.majority_percent == pytest.approx(62.5)
    np.testing.assert_array_equal(s.majority, paper_majority)
    # the text of §4.1.2 lists these six
    assert sorted(s.non_interpretable) == sorted([
        "Component 2 (-ve)", "Component 5 (-ve)", "Component 6 (+ve)", "Component 6 (-ve)",
        "Component 7 (+ve)", "Component 8 (+ve)"])


def test_tie_rule_for_even_raters() -> None:
    M = np.array([[1, 1, 0, 0], [1, 1, 1, 0], [0, 0, 0, 1], [1, 0, np.nan, np.nan]], float)
    np.testing.assert_array_equal(majority_vote(M, "non_interpretable"), [0, 1, 0, 0])
    np.testing.assert_array_equal(majority_vote(M, "interpretable"), [1, 1, 0, 1])
    with pytest.raises(ValueError):
        majority_vote(M, "coin")


def test_missing_votes_and_unrated_components() -> None:
    M = np.array([[1, np.nan, 1], [np.nan, np.nan, np.nan], [0, 0, np.nan]])
    s = summarize(M, ["a", "b", "c"], ["r1", "r2", "r3"])
    assert np.isnan(s.majority[1])
    assert s.majority_percent == pytest.approx(50.0)  # a ✓, c ×; b has no majority
    np.testing.assert_allclose(s.rater_percent, [50.0, 0.0, 100.0])
    assert not s.complete


def test_vote_matrix_from_votes() -> None:
    votes = [Vote(0, "a", True), Vote(1, "b", False, points=(5, 3, 5))]
    M = vote_matrix(votes, 2, ["a", "b"])
    assert M[0, 0] == 1 and M[1, 1] == 0 and np.isnan(M[0, 1]) and np.isnan(M[1, 0])
    assert votes[1].points == (3, 5)
    with pytest.raises(ValueError):
        Vote(0, "a", False, points=(68,))


def test_blinded_orders_are_reproducible_permutations() -> None:
    orders = blinded_orders(16, VOLUNTEERS, seed=7)
    for o in orders.values():
        assert sorted(o) == list(range(16))
    assert orders == blinded_orders(16, VOLUNTEERS, seed=7)
    assert len({tuple(o) for o in orders.values()}) == 3
    assert blinded_order(16, "Volunteer 1", 8) != orders["Volunteer 1"]
    # adding a rater does not reshuffle the others
    assert blinded_orders(16, VOLUNTEERS + ["X"], seed=7)["Volunteer 2"] == orders["Volunteer 2"]


def test_command_stack_undo_redo() -> None:
    st = CommandStack()
    v1, v2 = Vote(0, "a", True), Vote(0, "a", False)
    st.push(SetVote("a", 0, None, v1))
    st.push(SetVote("a", 0, v1, v2))
    assert st.undo() == SetVote("a", 0, v2, v1)
    assert st.undo() == SetVote("a", 0, v1, None)
    assert st.undo() is None
    assert st.redo() == SetVote("a", 0, None, v1)
    st.push(SetVote("a", 1, None, Vote(1, "a", True)))
    assert not st.can_redo
