# The orders sample: POST /orders -> orders -> valid-orders -> payments and
# shipments (keyed by customer), invalid orders to invalid-orders.
#
# image: millstream/orders:dev
# package: ./samples/orders
# copy: samples/orders/millstream.yaml
#
# Built by scripts/build-images (`make images`); compose/orders.yaml runs
# it next to the broker, which it finds through
# MILLSTREAM_BINDERS_KAFKA_BROKERS, and sets the endpoint's address with
# -http (arguments after the image name are appended to the entrypoint).
FROM scratch
COPY bin/orders /orders
COPY samples/orders/millstream.yaml /millstream.yaml
ENV MILLSTREAM_CONFIG=/millstream.yaml
EXPOSE 8081
ENTRYPOINT ["/orders", "-http", "0.0.0.0:8081"]
