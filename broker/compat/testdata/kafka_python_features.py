"""Broker features as kafka-python 2.0.2 sees them, one scenario per run.

Usage: kafka_python_features.py SCENARIO BOOTSTRAP TOPIC [ARG]

Scenarios (each prints one JSON object on stdout):
  logappendtime  create TOPIC with message.timestamp.type=LogAppendTime,
                 produce 10 records with old timestamps, read them back
  offsetsfortimes TS
                 offsets_for_times of TOPIC partition 0 at TS, at TS far in
                 the future, and its beginning and end offsets
  smallfetch     read TOPIC partition 0 with 1 KiB fetch limits
  sizes          produce a 900 KiB and a 2 MiB value (the broker's default
                 max.message.bytes is 1 MiB) and report what happened
"""

import hashlib
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic


def consume_all(bootstrap, topic, count, **kw):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, **kw)
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek_to_beginning()
    out = []
    deadline = time.time() + 30
    while len(out) < count and time.time() < deadline:
        for _, msgs in consumer.poll(timeout_ms=500).items():
            out.extend(msgs)
    consumer.close()
    return out


def logappendtime(bootstrap, topic):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    admin.create_topics([NewTopic(name=topic, num_partitions=1, replication_factor=1,
                                  topic_configs={"message.timestamp.type": "LogAppendTime"})])
    admin.close()
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=20)
    futures = [producer.send(topic, value=b"v%d" % i, timestamp_ms=1000 + i) for i in range(10)]
    producer.flush()
    acks = [{"offset": md.offset, "timestamp": md.timestamp} for md in (f.get(10) for f in futures)]
    producer.close()
    consumed = [{"offset": m.offset, "timestamp": m.timestamp, "timestamp_type": m.timestamp_type}
                for m in consume_all(bootstrap, topic, 10)]
    return {"acks": acks, "consumed": consumed}


def offsetsfortimes(bootstrap, topic, ts):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    tp = TopicPartition(topic, 0)
    found = consumer.offsets_for_times({tp: ts})[tp]
    future = consumer.offsets_for_times({tp: ts + 10**9})[tp]
    out = {
        "offset": found.offset if found else None,
        "timestamp": found.timestamp if found else None,
        "future": None if future is None else future.offset,
        "beginning": consumer.beginning_offsets([tp])[tp],
        "end": consumer.end_offsets([tp])[tp],
    }
    consumer.close()
    return out


def smallfetch(bootstrap, topic, count):
    msgs = consume_all(bootstrap, topic, count, max_partition_fetch_bytes=1024,
                       fetch_max_bytes=1024)
    return {"records": [{"offset": m.offset, "sha256": hashlib.sha256(m.value).hexdigest()}
                        for m in msgs]}


def sizes(bootstrap, topic):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all",
                             max_request_size=8 << 20, retries=0)
    out = {}
    for name, size in (("900KiB", 900 << 10), ("2MiB", 2 << 20)):
        try:
            md = producer.send(topic, value=b"x" * size).get(30)
            out[name] = {"offset": md.offset}
        except Exception as e:  # the error class is the result
            out[name] = {"error": type(e).__name__}
    producer.close()
    got = consume_all(bootstrap, topic, 1, max_partition_fetch_bytes=1 << 20)
    out["consumed"] = [{"offset": m.offset, "size": len(m.value)} for m in got]
    return out


def main():
    scenario, bootstrap, topic = sys.argv[1:4]
    if scenario == "logappendtime":
        result = logappendtime(bootstrap, topic)
    elif scenario == "offsetsfortimes":
        result = offsetsfortimes(bootstrap, topic, int(sys.argv[4]))
    elif scenario == "smallfetch":
        result = smallfetch(bootstrap, topic, int(sys.argv[4]))
    elif scenario == "sizes":
        result = sizes(bootstrap, topic)
    else:
        sys.exit("unknown scenario " + scenario)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
