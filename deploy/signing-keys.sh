#!/bin/sh
# One signing key pair per partner for the compose deployment (docker-compose.yml, job
# `signing-keys`), laid out as the service and the adapters read them:
#
#   $KEYS/private/<partner>.key          IAJ_ADAPTER_SIGNING_KEY of that partner's adapter
#   $KEYS/public/<partner>/<key id>.pub  IAJ_PARTNER_KEYS_DIR=$KEYS/public of the service
#
# Only for running the whole system on one host. In production each partner makes its own key
# on its own premises (`iaj-adapter keys generate`) and hands over the public half
# (partner_adapters/README.md, "Signing keys"). Keys already there are kept: re-running is safe.
set -eu
KEYS="${KEYS:-/keys}"
PYTHON="${PYTHON:-python}"
OWNER="${OWNER:-10001}"  # the images' user `iaj`

partners=$("$PYTHON" -c 'from contracts import Partner; print(" ".join(p.value for p in Partner))')
mkdir -p "$KEYS/private" "$KEYS/public"
for partner in $partners; do
    [ -f "$KEYS/private/$partner.key" ] && continue
    rm -rf "$KEYS/new"
    made=$("$PYTHON" -m partner_adapters keys generate --partner "$partner" --dir "$KEYS/new" --json)
    key_id=$(printf '%s' "$made" | "$PYTHON" -c 'import json, sys; print(json.load(sys.stdin)["key_id"])')
    mkdir -p "$KEYS/public/$partner"
    mv "$KEYS/new/$partner-$key_id.pub" "$KEYS/public/$partner/$key_id.pub"
    mv "$KEYS/new/$partner-$key_id.key" "$KEYS/private/$partner.key"
    echo "signing key of $partner: $key_id"
done
rm -rf "$KEYS/new"
# The adapters and the service run as `iaj`; the private keys stay unreadable to others.
if [ "$(id -u)" = 0 ]; then chown -R "$OWNER" "$KEYS"; fi
chmod 0400 "$KEYS"/private/*.key
