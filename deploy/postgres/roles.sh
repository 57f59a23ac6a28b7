#!/bin/sh
# Creates the schemas' owner and one role per service (deploy/postgres/roles.sql) with the
# passwords compose passes in. Postgres runs it once, when its volume is new; on an older
# volume run it by hand: docker compose exec postgres sh /docker-entrypoint-initdb.d/10-roles.sh
set -eu
psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
    -v prefix=switchboard \
    -v owner_password="$POSTGRES_OWNER_PASSWORD" \
    -v email_password="$POSTGRES_EMAIL_PASSWORD" \
    -v social_password="$POSTGRES_SOCIAL_PASSWORD" \
    -v chat_password="$POSTGRES_CHAT_PASSWORD" \
    -v phone_password="$POSTGRES_PHONE_PASSWORD" \
    -v routing_password="$POSTGRES_ROUTING_PASSWORD" \
    -v metrics_password="$POSTGRES_METRICS_PASSWORD" \
    -f /switchboard/roles.sql
