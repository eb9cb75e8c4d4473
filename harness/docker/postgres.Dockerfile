# chaos-harness/postgres:local — PostgreSQL 15 from Debian bookworm, on our base image.
# Honours the official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB / PGDATA
# and answers `pg_isready`, so POSTGRES_IMAGE=postgres:15 works in the same compose file.
# The cluster is initialised at build time (chaos/chaos/features): a container is ready
# in about a second. Durability is off (fsync=off): this is a throwaway test database.
# (harness.images applies this file as one layer: COPYs, then the single RUN.)
ARG BASE_IMAGE=chaos-harness/base:local
FROM ${BASE_IMAGE}
ENV PGDATA=/var/lib/postgresql/data \
    PATH=/usr/local/lib/pgbin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    POSTGRES_USER=chaos POSTGRES_PASSWORD=chaos POSTGRES_DB=features
COPY docker/postgres/entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN ln -s "$(ls -d /usr/lib/postgresql/*/bin | tail -n 1)" /usr/local/lib/pgbin \
 && chmod 0755 /usr/local/bin/docker-entrypoint.sh \
 && mkdir -p "$PGDATA" /run/postgresql \
 && chown -R postgres:postgres /var/lib/postgresql /run/postgresql \
 && chmod 0700 "$PGDATA" \
 && runuser -u postgres -- /usr/local/bin/docker-entrypoint.sh init
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["postgres"]
