"""The interface: the ``nps`` command, its console helpers, the report renderers and the demo.

The console script ``nps`` is :func:`jobs.cli.app.main`.
"""
