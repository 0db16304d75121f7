#!/bin/sh
# Entry point of the compose example's Kafka container (image apache/kafka).
#
# The super user's SCRAM credential must exist before the broker can accept any connection,
# so it is written when the storage is formatted (KRaft: `kafka-storage.sh format
# --add-scram`). Formatting happens once; later starts find the storage formatted. All other
# users are created by the init service (deploy/kafka-init.sh).
#
# The same script starts Apache Kafka from the Maven jars outside Docker (`make kafka`, the
# tests: devtools/apache_kafka.py): KAFKA_BIN then points at small wrappers that run the jars,
# and KAFKA_EXTRA_PROPERTIES names a file whose lines are appended last and so win (local
# listeners, ports and data folder instead of the compose network's).
set -eu
: "${CLUSTER_ID:?CLUSTER_ID is not set}"
: "${KAFKA_PASSWORD_ADMIN:?KAFKA_PASSWORD_ADMIN is not set (copy .env.example to .env)}"

KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
umask 077  # the properties below hold the admin password
PROPERTIES="$(mktemp -d)/server.properties"
cat "$(dirname "$0")/server.properties" - > "$PROPERTIES" <<EOF
listener.name.internal.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_PASSWORD_ADMIN}";
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="${KAFKA_PASSWORD_ADMIN}" user_admin="${KAFKA_PASSWORD_ADMIN}";
EOF
if [ -n "${KAFKA_EXTRA_PROPERTIES:-}" ]; then
    cat "$KAFKA_EXTRA_PROPERTIES" >> "$PROPERTIES"
fi

# Its standard output lists the bootstrap metadata, the admin's salted SCRAM keys included:
# not for a log.
"$KAFKA_BIN/kafka-storage.sh" format --ignore-formatted \
    --cluster-id "$CLUSTER_ID" --config "$PROPERTIES" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_PASSWORD_ADMIN}]" > /dev/null

exec "$KAFKA_BIN/kafka-server-start.sh" "$PROPERTIES"
