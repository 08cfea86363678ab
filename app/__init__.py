"""The HTTP service: app factory, routes, answer orchestration, the web page and the `ragd` CLI."""
