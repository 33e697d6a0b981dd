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
  outofrange     seek partition 0 of TOPIC to offset 0, below its log start:
                 the consumer must reset to the earliest offset and read on
  admin          the KafkaAdminClient calls: topic configs (describe, alter),
                 broker configs, create_partitions, consumer group listing,
                 description, offsets and deletion, delete_topics
"""

import hashlib
import json
import sys
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import ConfigResource, ConfigResourceType, NewPartitions, NewTopic


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


def outofrange(bootstrap, topic):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None,
                             enable_auto_commit=False, auto_offset_reset="earliest")
    tp = TopicPartition(topic, 0)
    consumer.assign([tp])
    consumer.seek(tp, 0)
    first = None
    deadline = time.time() + 30
    while first is None and time.time() < deadline:
        for _, msgs in consumer.poll(timeout_ms=500).items():
            if msgs and first is None:
                first = msgs[0].offset
    beginning = consumer.beginning_offsets([tp])[tp]
    consumer.close()
    return {"first": first, "beginning": beginning}


def step(out, name, fn):
    """Runs one admin step; a failure is recorded, not raised, so the
    steps after it still run."""
    try:
        out[name] = fn()
    except Exception as e:  # the error is the result
        out[name] = {"exception": "%s: %s" % (type(e).__name__, e)}


def topic_config(admin, topic, name):
    resp = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    for r in resp:
        for (code, msg, _rtype, rname, entries) in r.resources:
            if rname == topic:
                vals = [e[1] for e in entries if e[0] == name]
                return {"error_code": code, "value": vals[0] if vals else None,
                        "entries": len(entries)}
    return {"error": "topic not in the response"}


def admin_calls(bootstrap, topic):
    out = {}
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=20000)
    step(out, "create", lambda: [list(e[:2]) for e in admin.create_topics(
        [NewTopic(name=topic, num_partitions=2, replication_factor=1,
                  topic_configs={"retention.ms": "3600000"})]).topic_errors])
    step(out, "config", lambda: topic_config(admin, topic, "retention.ms"))
    step(out, "alter", lambda: [list(r[:1]) for r in admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, topic,
                        configs={"retention.ms": "7200000"})]).resources])
    step(out, "config_after_alter", lambda: topic_config(admin, topic, "retention.ms"))

    def broker_configs():
        node = admin.describe_cluster()["brokers"][0]["node_id"]
        resp = admin.describe_configs([ConfigResource(ConfigResourceType.BROKER, str(node))])
        res = resp[0].resources[0]
        return {"error_code": res[0], "entries": len(res[4])}
    step(out, "broker_config", broker_configs)

    step(out, "create_partitions", lambda: [list(e[:2]) for e in admin.create_partitions(
        {topic: NewPartitions(total_count=4)}).topic_errors])
    step(out, "partitions", lambda: sorted(
        p["partition"] for p in admin.describe_topics([topic])[0]["partitions"]))

    group = topic + "-group"

    def consume_commit():
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        for i in range(8):
            producer.send(topic, value=b"g%d" % i, partition=i % 4)
        producer.flush()
        producer.close()
        consumer = KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                 client_id="admin-member", enable_auto_commit=False,
                                 auto_offset_reset="earliest", metadata_max_age_ms=1000)
        n = 0
        deadline = time.time() + 30
        while n < 8 and time.time() < deadline:
            n += sum(len(m) for m in consumer.poll(timeout_ms=500).values())
        consumer.commit()
        desc = admin.describe_consumer_groups([group])[0]
        described = {"state": desc.state, "protocol_type": desc.protocol_type,
                     "members": [m.client_id for m in desc.members]}
        consumer.close()
        return {"read": n, "described": described}
    step(out, "group", consume_commit)
    step(out, "groups", lambda: sorted(list(g) for g in admin.list_consumer_groups()))
    step(out, "group_offsets", lambda: {str(tp.partition): om.offset for tp, om in
                                        admin.list_consumer_group_offsets(group).items()
                                        if tp.topic == topic})
    step(out, "delete_group", lambda: [[g, e.__name__ if isinstance(e, type) else type(e).__name__]
                                       for g, e in admin.delete_consumer_groups([group])])
    step(out, "groups_after_delete", lambda: sorted(g[0] for g in admin.list_consumer_groups()))
    step(out, "delete_topic", lambda: [list(e) for e in admin.delete_topics([topic]).topic_error_codes])
    step(out, "topics_after_delete", lambda: topic in admin.list_topics())
    admin.close()
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
    elif scenario == "outofrange":
        result = outofrange(bootstrap, topic)
    elif scenario == "admin":
        result = admin_calls(bootstrap, topic)
    else:
        sys.exit("unknown scenario " + scenario)
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
