#!/usr/bin/env bash
# Installs the Bicep CLI from NuGet into .tools/ (gitignored) and prints the binary's path on stdout.
# NuGet is the one channel this project's machines reach for Bicep (the usual installer downloads a release
# binary from GitHub, which cannot be fetched here). A second run reuses the restored package and costs ~0 s.
set -euo pipefail

BICEP_VERSION="${BICEP_VERSION:-0.49.2}"
PACKAGE="Azure.Bicep.CommandLine.linux-x64"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
PKG_DIR="$TOOLS/nuget/$(echo "$PACKAGE" | tr '[:upper:]' '[:lower:]')/$BICEP_VERSION"

fail() {
  echo "" >&2
  echo "################################################################################" >&2
  echo "# BICEP CLI UNAVAILABLE: $*" >&2
  echo "# infra/ was NOT compiled or linted. This check fails on purpose: it is never skipped." >&2
  echo "################################################################################" >&2
  exit 1
}

find_binary() {
  [ -d "$PKG_DIR" ] || return 1
  find "$PKG_DIR" -type f -name bicep | head -n 1
}

mkdir -p "$TOOLS"
# The test suite and the CI step may both arrive here at once: one restore at a time.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$TOOLS/.bicep-restore.lock"
  flock 9
fi

bin="$(find_binary || true)"
if [ -z "$bin" ]; then
  command -v dotnet >/dev/null 2>&1 || fail "dotnet is not installed, so $PACKAGE $BICEP_VERSION cannot be restored from NuGet."
  work="$(mktemp -d)"
  trap 'rm -rf "$work"' EXIT
  # A throw-away project: PackageDownload fetches the package without referencing it or needing a framework match.
  cat > "$work/bicep-download.csproj" <<CSPROJ
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>netstandard2.0</TargetFramework>
  </PropertyGroup>
  <ItemGroup>
    <PackageDownload Include="$PACKAGE" Version="[$BICEP_VERSION]" />
  </ItemGroup>
</Project>
CSPROJ
  echo "Restoring $PACKAGE $BICEP_VERSION from NuGet into .tools/ ..." >&2
  if ! DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1 \
      dotnet restore "$work/bicep-download.csproj" --packages "$TOOLS/nuget" >&2; then
    fail "dotnet restore of $PACKAGE $BICEP_VERSION failed (is NuGet reachable?)."
  fi
  bin="$(find_binary || true)"
  [ -n "$bin" ] || fail "the restored package $PACKAGE $BICEP_VERSION holds no 'bicep' binary."
fi
chmod +x "$bin"
"$bin" --version >/dev/null 2>&1 || fail "$bin does not run on this machine."
echo "$bin"
