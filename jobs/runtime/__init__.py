"""How jobs run: the per-store lock, the job_runs record, the scheduler, logs and progress.

Nothing here knows what a job does; the job bodies (``jobs/*.py``) and the interface
(``jobs/cli/``) build on it.
"""
