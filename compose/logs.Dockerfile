# The logs sample: ships the JSON lines of a file to logs and aggregates
# them, per level and service, in the consumer group aggregators.
#
# image: millstream/logs:dev
# package: ./samples/logs
# copy: samples/logs/millstream.yaml
#
# Built by scripts/build-images (`make images`); compose/logs.yaml runs two
# instances next to the broker: one tails /var/log/millstream/app.jsonl
# (-tail) and aggregates, the other only aggregates. Each serves its share
# of the counts on GET /counts at the -http address.
FROM scratch
COPY bin/logs /logs
COPY samples/logs/millstream.yaml /millstream.yaml
ENV MILLSTREAM_CONFIG=/millstream.yaml
EXPOSE 8082
ENTRYPOINT ["/logs", "-http", "0.0.0.0:8082"]
