# hookline in a container. Written with care but not built here (no Docker engine on the
# machine that wrote it); the wheel it installs is built and checked by the test suite.
#
#   docker build -t hookline .
#   docker run -p 8000:8000 -v hookline:/var/lib/hookline hookline            # serve on SQLite
#   docker run --env-file hookline.env hookline api | worker | migrate        # with PostgreSQL

FROM python:3.12-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.12-slim
RUN useradd --system --uid 10001 --home-dir /var/lib/hookline --create-home hookline
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER hookline
WORKDIR /var/lib/hookline
ENV PYTHONUNBUFFERED=1 \
    HOOKLINE_HOST=0.0.0.0 \
    HOOKLINE_PORT=8000 \
    HOOKLINE_DATABASE_URL=sqlite:////var/lib/hookline/hookline.db \
    HOOKLINE_DATA_DIR=/var/lib/hookline/data
VOLUME ["/var/lib/hookline"]
EXPOSE 8000
# SIGTERM drains: no new claims, in-flight requests finish and are recorded (up to the timeout).
STOPSIGNAL SIGTERM
ENTRYPOINT ["hookline"]
CMD ["serve"]
