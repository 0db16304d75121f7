#!/bin/sh
# Entry point of the compose example's Kafka container (image apache/kafka).
#
# The super user's SCRAM credential must exist before the broker can accept any connection,
# so it is written when the storage is formatted (KRaft: `kafka-storage.sh format
# --add-scram`). Formatting happens once; later starts find the storage formatted. All other
# users are created by the init service (deploy/kafka-init.sh).
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

"$KAFKA_BIN/kafka-storage.sh" format --ignore-formatted \
    --cluster-id "$CLUSTER_ID" --config "$PROPERTIES" \
    --add-scram "SCRAM-SHA-512=[name=admin,password=${KAFKA_PASSWORD_ADMIN}]"

exec "$KAFKA_BIN/kafka-server-start.sh" "$PROPERTIES"
