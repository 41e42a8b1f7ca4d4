"""Registers the tests' plugins: ``_fixtures`` (sandboxes, isolated tmux servers, worlds)
and ``_builders`` (the desired-file factory, observed worlds for the planner tables)."""

pytest_plugins = ("_fixtures", "_builders")
