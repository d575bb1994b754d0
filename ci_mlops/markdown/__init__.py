"""Markdown building blocks shared by every renderer (PR report, drift, sweep leaderboard,
model card, release summary): tables and folded sections. What goes into a cell or a summary
is escaped by the caller with :mod:`ci_mlops.escape`, the one module of escapes per context.
"""
