"""The ``podsync`` command line.

``main`` builds the typer app, takes the global options and is the one place that
turns a :class:`~podsync.errors.PodsyncError` into ``podsync: <message>`` on
stderr and its exit code. Each other module registers one command or command
group on the app and reads the selected home through ``context.home_of``.
"""
