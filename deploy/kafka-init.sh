#!/bin/sh
# One-shot init of the compose example's Kafka: users, then topics, then ACLs. Every step is
# safe to repeat, so this runs on every `docker compose up`.
#
# Runs in the apache/kafka image with this directory mounted at /etc/iaj. The three scripts
# it calls are generated from the contracts (`make deploy-files`); this one is not.
set -eu
: "${KAFKA_BOOTSTRAP:=kafka:9092}"
: "${KAFKA_PASSWORD_ADMIN:?KAFKA_PASSWORD_ADMIN is not set (copy .env.example to .env)}"
HERE="$(dirname "$0")"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"
export KAFKA_BIN

umask 077  # the client config holds the admin password
ADMIN_CONFIG="$(mktemp -d)/admin.properties"
cat > "$ADMIN_CONFIG" <<EOF
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="${KAFKA_PASSWORD_ADMIN}";
EOF

echo "waiting for Kafka at $KAFKA_BOOTSTRAP ..."
attempts=0
until "$KAFKA_BIN/kafka-broker-api-versions.sh" --bootstrap-server "$KAFKA_BOOTSTRAP" \
        --command-config "$ADMIN_CONFIG" > /dev/null 2>&1; do
    attempts=$((attempts + 1))
    if [ "$attempts" -ge 60 ]; then
        echo "Kafka at $KAFKA_BOOTSTRAP did not accept the admin login" >&2
        exit 1
    fi
    sleep 2
done

echo "users ..."
sh "$HERE/kafka-users.sh" "$KAFKA_BOOTSTRAP" "$ADMIN_CONFIG"
echo "topics ..."
sh "$HERE/kafka-topics.sh" "$KAFKA_BOOTSTRAP" "$ADMIN_CONFIG"
echo "ACLs ..."
sh "$HERE/kafka-acls.sh" "$KAFKA_BOOTSTRAP" "$ADMIN_CONFIG" > /dev/null
echo "Kafka is ready: users, topics and ACLs in place"
