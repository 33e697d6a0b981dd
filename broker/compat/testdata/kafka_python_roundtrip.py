"""Round trip through a Kafka broker with kafka-python 2.0.2.

Reads a JSON job on stdin:
  {"bootstrap": "host:port", "topic": "...", "partitions": 3,
   "records": [{"key": b64 or null, "value": b64 or null,
                "headers": [[name, b64 or null], ...], "timestamp": ms or null}, ...]}

Creates the topic with KafkaAdminClient, lists and describes it, produces the
records with KafkaProducer (acks=all), reads the topic back with a
KafkaConsumer outside any group (assign + seek_to_beginning), and prints one
JSON object on stdout with base64 byte fields. The Go test compares bytes.
"""

import base64
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def b64(b):
    return None if b is None else base64.b64encode(b).decode("ascii")


def unb64(s):
    return None if s is None else base64.b64decode(s)


def main():
    job = json.load(sys.stdin)
    bootstrap = job["bootstrap"]
    topic = job["topic"]
    partitions = job["partitions"]
    out = {}

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="compat-python-admin",
                             request_timeout_ms=20000)
    resp = admin.create_topics([NewTopic(name=topic, num_partitions=partitions,
                                         replication_factor=1)], timeout_ms=20000)
    out["create_errors"] = [[t, code] for (t, code, *_rest) in resp.topic_errors]
    out["listed"] = sorted(admin.list_topics())
    described = admin.describe_topics([topic])
    out["described"] = [
        {"topic": d["topic"], "error_code": d["error_code"],
         "partitions": sorted([p["partition"], p["leader"], p["error_code"]]
                              for p in d["partitions"])}
        for d in described
    ]
    admin.close()

    producer = KafkaProducer(bootstrap_servers=bootstrap, client_id="compat-python-producer",
                             acks="all", linger_ms=5, retries=0, request_timeout_ms=20000)
    futures = []
    for r in job["records"]:
        headers = [(h[0], unb64(h[1])) for h in r["headers"]]
        futures.append(producer.send(topic, key=unb64(r["key"]), value=unb64(r["value"]),
                                     headers=headers, timestamp_ms=r.get("timestamp")))
    producer.flush(timeout=30)
    acks = []
    for f in futures:
        md = f.get(timeout=30)
        acks.append({"partition": md.partition, "offset": md.offset, "timestamp": md.timestamp})
    out["acks"] = acks
    producer.close(timeout=10)

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, client_id="compat-python-consumer",
                             group_id=None, enable_auto_commit=False,
                             request_timeout_ms=20000)
    tps = [TopicPartition(topic, p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning()
    consumed = []
    deadline = time.time() + 30
    while len(consumed) < len(job["records"]) and time.time() < deadline:
        for tp, msgs in consumer.poll(timeout_ms=500).items():
            for m in msgs:
                consumed.append({
                    "partition": m.partition, "offset": m.offset, "timestamp": m.timestamp,
                    "key": b64(m.key), "value": b64(m.value),
                    "headers": [[k, b64(v)] for (k, v) in m.headers],
                })
    out["end_offsets"] = {str(tp.partition): o for tp, o in consumer.end_offsets(tps).items()}
    # Metadata for all topics (kafka-python's consumer asks with v0/v1).
    out["consumer_topics"] = sorted(consumer.topics())
    out["consumer_partitions"] = sorted(consumer.partitions_for_topic(topic) or [])
    consumer.close()
    out["consumed"] = consumed
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
