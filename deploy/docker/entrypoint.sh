#!/bin/sh
# Container entrypoint: derive the settings ECS can't inject directly, then run `assetcore "$@"`.
#  - DB_HOST/DB_PORT/DB_NAME/DB_USER/DB_PASSWORD (RDS secret fields) -> ASSETCORE_DATABASE_URL
#  - CLOUDFRONT_PRIVATE_KEY (PEM, from Secrets Manager) -> a 0600 file + ASSETCORE_AWS__CLOUDFRONT_PRIVATE_KEY_PATH
set -eu

if [ -z "${ASSETCORE_DATABASE_URL:-}" ] && [ -n "${DB_HOST:-}" ]; then
    ASSETCORE_DATABASE_URL="postgresql+asyncpg://${DB_USER}:${DB_PASSWORD}@${DB_HOST}:${DB_PORT:-5432}/${DB_NAME:-assetcore}"
    export ASSETCORE_DATABASE_URL
fi
unset DB_PASSWORD

if [ -n "${CLOUDFRONT_PRIVATE_KEY:-}" ]; then
    key_file="${ASSETCORE_DATA_DIR:-/var/lib/assetcore}/cloudfront-key.pem"
    umask 077
    printf '%s\n' "$CLOUDFRONT_PRIVATE_KEY" > "$key_file"
    export ASSETCORE_AWS__CLOUDFRONT_PRIVATE_KEY_PATH="$key_file"
    unset CLOUDFRONT_PRIVATE_KEY
fi

exec assetcore "$@"
