"""`revive batch`: photos, frame folders and films on a Ray cluster.

The driver (restore.commands.batch) plans the work as `revive photo`, `revive frames` and `revive video` do,
Ray actors that each hold one Restorer (restore.cluster.worker) do it, and results come back through
restore.cluster.pool. Only the driver and the workers import Ray: `pip install -e '.[cluster]'`.
"""
