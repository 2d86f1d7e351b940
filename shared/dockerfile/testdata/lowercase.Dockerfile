# lowercase instructions, continuations and comments
arg VARIANT=slim
from \
  python:3.12-${VARIANT} \
  as app
# a comment between instructions
run pip install \
# a comment inside a continuation
    requests
copy --chown=1000:1000 \
     --from=python:3.11-slim \
     /usr/local/lib/python3.11 /opt/py311
   from    redis:7   as   cache   
run --mount=type=bind,from=app,target=/app \
    --mount=type=secret,id=token \
    redis-server --version
