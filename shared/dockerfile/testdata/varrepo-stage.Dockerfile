# A registry ARG also used inside a stage cannot be rewritten: the RUN would see the new value.
ARG REG=quay.io
ARG TAG=v1
FROM ${REG}/org/tool:${TAG}
ARG REG
RUN echo "pulling from $REG"
