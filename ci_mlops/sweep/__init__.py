"""Parameter sweeps in CI: plan a grid, run it with DVC, rank the experiments in the PR.

* :mod:`~ci_mlops.sweep.plan`: the ``experiments:`` section -> named experiments and a matrix.
* :mod:`~ci_mlops.sweep.run`: DVC runs them (the local queue, or one per CI job).
* :mod:`~ci_mlops.sweep.results`: what an experiment produced, from its ref or its JSON file.
* :mod:`~ci_mlops.sweep.leaderboard`: ranked against the base, with gate verdicts.
* :mod:`~ci_mlops.sweep.apply`: one experiment's params and dvc.lock into the branch.
"""
