"""One member of a consumer group, with kafka-python 2.0.2.

Usage: kafka_python_group_member.py BOOTSTRAP TOPIC GROUP NAME SESSION_TIMEOUT_MS [ASSIGNOR]

ASSIGNOR is range or roundrobin; by default kafka-python offers both.

Subscribes to TOPIC in GROUP, reads from the earliest offset when the group
has no committed offset, and commits synchronously after every batch it has
printed (and, if anything is left, when partitions are revoked). It prints
one JSON object per line on stdout:

  {"event": "assigned", "partitions": [0, 2]}
  {"event": "revoked", "partitions": [0, 2]}
  {"event": "record", "partition": 0, "offset": 5, "value": "..."}
  {"event": "committed", "offsets": {"0": 6}}
  {"event": "commit_failed", "error": "..."}   (kept pending, retried)

and runs until it is killed or SIGTERM asks it to leave the group.
"""

import json
import signal
import sys

from kafka import KafkaConsumer
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.consumer.subscription_state import ConsumerRebalanceListener


def out(event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


def main():
    bootstrap, topic, group, name, session_ms = sys.argv[1:6]
    session_ms = int(session_ms)
    assignors = {"range": [RangePartitionAssignor], "roundrobin": [RoundRobinPartitionAssignor]}
    strategy = assignors[sys.argv[6]] if len(sys.argv) > 6 else \
        [RangePartitionAssignor, RoundRobinPartitionAssignor]
    stopping = []
    signal.signal(signal.SIGTERM, lambda *_: stopping.append(True))

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=name,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=session_ms,
        heartbeat_interval_ms=max(100, session_ms // 10),
        max_poll_interval_ms=60000,
        request_timeout_ms=session_ms + 20000,
        metadata_max_age_ms=1000,
        partition_assignment_strategy=strategy,
    )
    # Offsets read and not committed yet: partition -> next offset.
    pending = {}

    def commit():
        if not pending:
            return
        try:
            consumer.commit()
        except Exception as e:  # e.g. the coordinator went away: retried later
            out({"event": "commit_failed", "error": "%s: %s" % (type(e).__name__, e)})
            return
        out({"event": "committed", "offsets": {str(p): o for p, o in pending.items()}})
        pending.clear()

    class Listener(ConsumerRebalanceListener):
        def on_partitions_revoked(self, revoked):
            commit()
            out({"event": "revoked", "partitions": sorted(tp.partition for tp in revoked)})

        def on_partitions_assigned(self, assigned):
            out({"event": "assigned", "partitions": sorted(tp.partition for tp in assigned)})

    consumer.subscribe([topic], listener=Listener())
    while not stopping:
        batch = consumer.poll(timeout_ms=200)
        for tp, msgs in batch.items():
            for m in msgs:
                out({"event": "record", "partition": m.partition, "offset": m.offset,
                     "value": m.value.decode("utf-8", "replace")})
                pending[m.partition] = m.offset + 1
        commit()
    consumer.close()


if __name__ == "__main__":
    main()
