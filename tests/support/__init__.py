"""What the tests share: loopback forges, the runner simulations, DVC repository builders,
the linters, the in-process CLI runner, the browser harness and its pinned renderer."""
