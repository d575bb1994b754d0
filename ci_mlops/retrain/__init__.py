"""Close the loop: retrain on drift (or on a schedule) as a reviewed pull request, and commit
a PR's training results back to its branch.

Two jobs, two trust levels. The job that runs the project's code (refresh the data,
``dvc repro``) holds no write token: it stages the changed git-tracked files and the DVC
outputs into a folder (:mod:`ci_mlops.retrain.stage`). A second job, which runs no
project code, validates that folder (only the expected paths, no symlinks, hashes
matching: :mod:`ci_mlops.retrain.results`), pushes the outputs to the DVC remote and
commits the files through GitHub's Git Data API (:mod:`ci_mlops.github.gitdata`), then
opens or updates one pull request (:mod:`ci_mlops.retrain.pulls`).
"""
