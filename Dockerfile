# The image of the municipal service (`iaj serve`) and of the partner adapter (`iaj-adapter
# run`): the project installed from its wheel, run as an unprivileged user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml ./
COPY contracts ./contracts
COPY broker ./broker
COPY handlers ./handlers
COPY partner_adapters ./partner_adapters
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --system --uid 10001 --create-home --home-dir /home/iaj --shell /usr/sbin/nologin iaj \
    && install -d -o iaj -g iaj -m 0700 /var/lib/iaj-adapter
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links /wheels iaj-broker \
    && rm -rf /wheels
USER iaj
WORKDIR /home/iaj
# An adapter keeps its state file (names while questions are open) in /var/lib/iaj-adapter:
# mount a volume there (docker-compose.yml does).
# No .env in the image: settings come from the environment (IAJ_*, IAJ_ADAPTER_*).
ENTRYPOINT ["iaj"]
CMD ["serve"]
