# The Millstream broker: one static binary, nothing else.
#
# image: millstream/broker:dev
# package: ./broker/cmd/millstream
#
# scripts/build-images (`make images`) reads the two lines above: it builds
# the package with CGO_ENABLED=0 into bin/millstream of a small build
# context and tags the result. By hand, from the repository root:
#
#     make build && docker build -f compose/millstream.Dockerfile -t millstream/broker:dev .
#
# The image has no shell, so the health check runs the binary's own client
# command against the listener. Arguments after the image name are appended
# to the entrypoint, and the last value of a flag wins, so
# `docker run millstream/broker:dev --kafka-addr 0.0.0.0:9093` moves the
# listener.
FROM scratch
COPY bin/millstream /millstream
VOLUME /data
EXPOSE 9092
HEALTHCHECK --interval=2s --timeout=5s --start-period=2s --retries=15 \
	CMD ["/millstream", "topics", "list", "-b", "127.0.0.1:9092", "--timeout", "2s"]
ENTRYPOINT ["/millstream", "broker", "--data-dir", "/data", "--kafka-addr", "0.0.0.0:9092"]
