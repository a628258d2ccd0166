"""One roll-up by the taxonomy's category for run tables and scenario tables; weighted coverage is not compared
across different priority weights."""

from __future__ import annotations

from matcher import SolveOptions, generate_problem, solve
from matcher.workflows.compare import METRICS, CaseResult, breakdown_tables, comparison_table
from matcher.workflows.outputs import result_tables
from matcher.workflows.report import scenario_report_html
from matcher.workflows.report_text import NOT_COMPARABLE


def test_run_and_scenario_count_a_category_the_same() -> None:
    p = generate_problem("community", 1, scale=0.3)
    s = solve(p, SolveOptions(time_limit_s=5))
    header, rows = result_tables(p, s)["kpi_by_category"]
    assert header[:3] == ["category", "subcategory", "demanded"]
    totals = {r[0]: r[2] for r in rows if r[1] == ""}
    subs: dict[str, int] = {}
    for r in rows:
        if r[1]:
            subs[r[0]] = subs.get(r[0], 0) + r[2]
    assert subs and all(subs[c] <= totals[c] for c in subs)  # subcategories add up within their category
    assert sum(totals.values()) == sum(d.headcount for d in p.demands)  # each order counted once in the totals
    tax = p.resolved_taxonomy()
    assert tax is not None and set(totals) <= {c.code for c in tax.categories}  # only categories, rolled up
    case = CaseResult("base", p, SolveOptions(), s)
    _, scenario_rows = breakdown_tables([case])["coverage_by_category"]
    assert {r[0]: r[2] for r in scenario_rows} == totals


def test_other_priority_weights_make_weighted_coverage_not_comparable() -> None:
    p = generate_problem("community", 1, scale=0.2)
    base_opts = SolveOptions(time_limit_s=5)
    steep = SolveOptions(time_limit_s=5, priority_weights={1: 1, 2: 2, 3: 4, 4: 16, 5: 64})
    cases = [CaseResult("base", p, base_opts, solve(p, base_opts)),
             CaseResult("steep", p, steep, solve(p, steep)),
             CaseResult("same", p, base_opts, solve(p, base_opts))]
    header, rows = comparison_table(cases)
    by_key = {r[0]: r for r in rows}
    assert by_key["coverage"][header.index("steep vs base")] == NOT_COMPARABLE
    assert by_key["coverage_bound"][header.index("steep vs base")] == NOT_COMPARABLE
    assert by_key["coverage"][header.index("same vs base")] == 0
    for prio in range(1, 6):  # seats filled by priority are compared in seats, whatever the weights
        assert isinstance(by_key[f"filled_p{prio}"][header.index("steep vs base")], int)
    # the scenario's report shows the marker (it tried to read it as a number)
    page = scenario_report_html("weights", [(c.name, c.problem, c.solution) for c in cases], (header, rows),
                                METRICS, breakdown_tables(cases))
    assert "不可比（优先级权重不同）" in page
