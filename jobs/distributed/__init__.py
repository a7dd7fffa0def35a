"""Distributed mode (``queue:``): Celery workers on Redis or RabbitMQ run each store's jobs.

``queue_app`` builds the Celery app, ``tasks`` runs one (store, job) under the same lock and
``job_runs`` row as ``nps run``, ``dispatcher`` is ``nps scheduler`` (one active at a time),
``queue_state`` keeps what the queue needs between processes in Redis (queued marks, paused
stores, when each job was last enqueued), ``monitor`` answers ``nps status``.
"""
