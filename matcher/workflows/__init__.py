"""Whole runs: the nightly batch (outputs, manifest) and what-if scenarios (schema, edits, compare, charts).

- :mod:`~matcher.workflows.batch`: :func:`run_batch`, a published run folder with a manifest;
- :mod:`~matcher.workflows.outputs`: a solution as the tables an operator reads;
- :mod:`~matcher.workflows.scenario_file`, :mod:`~matcher.workflows.edits`, :mod:`~matcher.workflows.scenario`:
  a scenario file's schema, its edits, and the checked scenario built from it;
- :mod:`~matcher.workflows.compare`, :mod:`~matcher.workflows.charts`: solving and comparing the cases;
- :mod:`~matcher.workflows.ledger`, :mod:`~matcher.workflows.rate`: the time-bank ledger in a run, and
  ``matcher rate`` recording services and ratings into it (评单).
"""

from matcher.workflows.batch import RunResult, run_batch
from matcher.workflows.compare import CaseResult, comparison_table, format_comparison, publish_scenario, run_scenario
from matcher.workflows.ledger import problem_with_ledger, star_level
from matcher.workflows.outputs import solution_frames
from matcher.workflows.rate import RateResult, record_services
from matcher.workflows.scenario import Scenario, load_scenario

__all__ = ["CaseResult", "RateResult", "RunResult", "Scenario", "comparison_table", "format_comparison",
           "load_scenario", "problem_with_ledger", "publish_scenario", "record_services", "run_batch", "run_scenario",
           "solution_frames", "star_level"]
