# escape=`

# Windows-style Dockerfile with backtick continuations.
FROM mcr.microsoft.com/windows/servercore:ltsc2022 `
    AS build
RUN powershell -Command `
    Write-Host "C:\path\to\thing"

FROM `
  python:3.12-windowsservercore-ltsc2022 AS py

FROM golang:1.22-nano`
server-ltsc2022 AS split

FROM `
  mcr.microsoft.com/powershell:lts-nanoserver-ltsc2022
COPY --from=build C:\app C:\app
COPY --from=py C:\Python C:\Python
COPY --from=split C:\go C:\go
COPY `
  --from=mcr.microsoft.com/dotnet/runtime:8.0 `
  C:\dotnet C:\dotnet
COPY `
  --from=`
golang:1.22 C:\go C:\go2
COPY --from="busybox:1.36" C:\bb C:\bb
