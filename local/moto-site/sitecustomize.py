"""Loaded by the Python that runs moto_server (local/moto.ts puts this folder on its PYTHONPATH).

moto serves each request on its own thread and applies a DynamoDB conditional write as a check and
then a write, with nothing between two requests on the same item: two concurrent conditional puts
can both pass. DynamoDB applies each item operation atomically, and the stop ledger's one stop per
job run rests on that. This runs moto's DynamoDB item operations one at a time, as DynamoDB's
atomicity makes them appear; the other services are left as moto has them.
"""

import functools
import threading

try:
    from moto.dynamodb.models import DynamoDBBackend
except ImportError:  # not the Python of moto_server: nothing to do
    DynamoDBBackend = None

if DynamoDBBackend is not None:
    _one_at_a_time = threading.RLock()

    def _atomic(operation):
        @functools.wraps(operation)
        def run(*args, **kwargs):
            with _one_at_a_time:
                return operation(*args, **kwargs)

        return run

    for _name in (
        "put_item",
        "update_item",
        "delete_item",
        "get_item",
        "batch_get_item",
        "batch_write_item",
        "transact_write_items",
        "query",
        "scan",
    ):
        setattr(DynamoDBBackend, _name, _atomic(getattr(DynamoDBBackend, _name)))
