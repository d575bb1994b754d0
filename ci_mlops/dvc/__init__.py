"""DVC: the project files read from git (project), the local cache and remotes (cache), staged
outputs (outputs), and the one way to run `dvc` as a subprocess (run)."""
