"""GitLab (gitlab.com or self-managed at any address): the forge behind :mod:`ci_mlops.forge` in GitLab CI/CD."""
