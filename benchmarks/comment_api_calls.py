"""API calls per sticky-comment update: ci-mlops vs CML's strategy, on the loopback fake GitHub.

Scenario per size N: a PR has N comments from people, then the bot's report
comment, then N/2 more comments; the report is updated 3 times. We count HTTP
requests per update and the bot comments the PR ends with.

The competitor is CML's `cml comment update` strategy, re-implemented here from
its source because CML (npm `@dvcorg/cml`) is not installable offline: it lists
only the first page of comments (Octokit's default, 30 per page), updates the
newest comment carrying its watermark when it is there, else posts a new one.

Run: .venv/bin/python benchmarks/comment_api_calls.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from ci_mlops.github.client import GitHubClient
from ci_mlops.github.comments import marker, upsert
from tests.support.fake_github import FakeGitHub

WATERMARK = '![](https://cml.dev/watermark.png#0 "CML watermark")'
UPDATES = 3


def cml_update(client: GitHubClient, repo: str, pr: int, body: str) -> None:
    page = client.request("GET", f"repos/{repo}/issues/{pr}/comments").json()  # first page only
    mine = [c for c in page if WATERMARK in (c.get("body") or "")]
    if mine:
        client.request("PATCH", f"repos/{repo}/issues/comments/{mine[-1]['id']}", json={"body": body})
    else:
        client.request("POST", f"repos/{repo}/issues/{pr}/comments", json={"body": body})


def scenario(n: int, tool: str) -> tuple[float, int, float]:
    """(API calls per update, bot comments at the end, ms per update)."""
    with FakeGitHub() as gh:
        gh.add_pr("o/r", 1)
        gh.add_comments("o/r", 1, n)
        mark = marker("bench")
        first = f"{mark}\nreport 0" if tool == "ci-mlops" else f"report 0\n{WATERMARK}"
        gh.add_comment("o/r", 1, first, user="github-actions[bot]")
        gh.add_comments("o/r", 1, n // 2, body="later {i}")
        client = GitHubClient(gh.api_url, "t")
        started = time.perf_counter()
        for i in range(1, UPDATES + 1):
            if tool == "ci-mlops":
                upsert(client, "o/r", 1, f"{mark}\nreport {i}", mark)
            else:
                cml_update(client, "o/r", 1, f"report {i}\n{WATERMARK}")
        elapsed = (time.perf_counter() - started) / UPDATES * 1000
        bots = sum(1 for c in gh.comments("o/r", 1) if c["user"]["type"] == "Bot")
        return len(client.calls) / UPDATES, bots, elapsed


def main() -> None:
    print(f"{'existing':>8}  {'ci-mlops calls/update':>21}  {'bot comments':>12}  {'ms':>6}  |"
          f"  {'CML-style calls/update':>22}  {'bot comments':>12}  {'ms':>6}  |  calls ratio")
    for n in (0, 20, 50, 150, 400, 1000):
        ours, our_bots, our_ms = scenario(n, "ci-mlops")
        theirs, their_bots, their_ms = scenario(n, "cml")
        print(f"{n:>8}  {ours:>21.1f}  {our_bots:>12}  {our_ms:>6.1f}  |  {theirs:>22.1f}  {their_bots:>12}  "
              f"{their_ms:>6.1f}  |  {ours / theirs:.2f}x")


if __name__ == "__main__":
    main()
