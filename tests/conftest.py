"""Registers the tests' plugins: ``_fixtures`` (sandboxes, isolated tmux servers, worlds)
``_builders`` (the desired-file factory, observed worlds for the planner tables) and
``_api`` (a loopback stand-in for Anthropic's API, for the real CLI)."""

pytest_plugins = ("_fixtures", "_builders", "_api")
