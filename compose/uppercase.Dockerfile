# The uppercase sample: reads "words", writes "upper-words".
#
# image: millstream/uppercase:dev
# package: ./samples/uppercase
# copy: samples/uppercase/millstream.yaml
#
# Built by scripts/build-images (`make images`); compose/uppercase.yaml
# runs it next to the broker, which it finds through
# MILLSTREAM_BINDERS_KAFKA_BROKERS (that overrides the file's brokers).
FROM scratch
COPY bin/uppercase /uppercase
COPY samples/uppercase/millstream.yaml /millstream.yaml
ENV MILLSTREAM_CONFIG=/millstream.yaml
ENTRYPOINT ["/uppercase"]
