"""DVC: the project files read from git (project), the local cache and remotes (cache), staged
outputs (outputs), metrics and params files read as DVC reads them (values), DVC's own diff
read as an oracle (diff), and the one way to run `dvc` as a subprocess (run)."""
