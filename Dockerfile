# Two images from one file, each with exactly the locked versions (requirements/*.lock):
#
#   docker build --target service -t iaj-broker .            # `iaj serve` and the iaj CLI
#   docker build --target adapter -t iaj-partner-adapter .   # `iaj-adapter run`, for a partner
#
# Neither holds the demo, the benchmark, the dev tools or the tests (they are not in the
# wheels), and the adapter image holds nothing municipal (no SQLAlchemy, no database drivers).
FROM python:3.11-slim AS build
WORKDIR /src
ENV PIP_DISABLE_PIP_VERSION_CHECK=1
COPY requirements/build.lock requirements/
RUN pip install --no-cache-dir --require-hashes -r requirements/build.lock
COPY pyproject.toml ./
COPY packaging/partner-adapter/pyproject.toml packaging/partner-adapter/
COPY contracts ./contracts
COPY kafka_access ./kafka_access
COPY handlers ./handlers
COPY broker ./broker
COPY partner_adapters ./partner_adapters
RUN pip wheel --no-cache-dir --no-deps --no-build-isolation --wheel-dir /wheels \
    . packaging/partner-adapter

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --create-home --home-dir /home/iaj --shell /usr/sbin/nologin iaj
WORKDIR /home/iaj
# No .env in the images: settings come from the environment (IAJ_*, IAJ_ADAPTER_*).

FROM runtime AS adapter
COPY requirements/partner-adapter.lock /tmp/
COPY --from=build /wheels/iaj_partner_adapter-*.whl /tmp/
RUN pip install --no-cache-dir --require-hashes -r /tmp/partner-adapter.lock \
    && pip install --no-cache-dir --no-deps /tmp/iaj_partner_adapter-*.whl \
    && rm /tmp/*.lock /tmp/*.whl \
    && install -d -o iaj -g iaj -m 0700 /var/lib/iaj-adapter
# The adapter keeps its state file (names while questions are open) in /var/lib/iaj-adapter:
# mount a volume there (docker-compose.yml does).
USER iaj
EXPOSE 9465
ENTRYPOINT ["iaj-adapter"]
CMD ["run"]

# Last, so a plain `docker build .` builds the municipal service.
FROM runtime AS service
COPY requirements/service.lock /tmp/
COPY --from=build /wheels/iaj_broker-*.whl /tmp/
RUN pip install --no-cache-dir --require-hashes -r /tmp/service.lock \
    && pip install --no-cache-dir --no-deps /tmp/iaj_broker-*.whl \
    && rm /tmp/*.lock /tmp/*.whl
USER iaj
# /metrics, /health/live, /health/ready (IAJ_OPS_PORT).
EXPOSE 9464
ENTRYPOINT ["iaj"]
CMD ["serve"]
