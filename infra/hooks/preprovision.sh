#!/bin/sh
# azd preprovision hook: makes sure the app about to be provisioned can only be called as a caller someone vouches for.
#
#   AUTH_MODE=appservice (the default): App Service authentication (Easy Auth) must be on, and it needs an Entra ID
#     app registration. Without AUTH_CLIENT_ID this creates one in the signed-in tenant (or reuses the one it created
#     for this azd environment before) and saves its client id with `azd env set AUTH_CLIENT_ID`.
#   AUTH_MODE=jwt: JWT_ISSUER, JWT_AUDIENCE and JWT_JWKS_URI must be set; nothing is created.
#
# infra/main.bicep refuses the same unsafe inputs on its own (for `az deployment sub create`); this hook fails first,
# with the fix spelled out. Needs the Azure CLI (`az login`) only when it has to create or find the registration.
set -eu

fail() {
  echo "preprovision: $*" >&2
  exit 1
}

mode="${AUTH_MODE:-appservice}"
case "$mode" in
  jwt)
    missing=""
    [ -n "${JWT_ISSUER:-}" ] || missing="$missing JWT_ISSUER"
    [ -n "${JWT_AUDIENCE:-}" ] || missing="$missing JWT_AUDIENCE"
    [ -n "${JWT_JWKS_URI:-}" ] || missing="$missing JWT_JWKS_URI"
    [ -z "$missing" ] || fail "AUTH_MODE=jwt needs$missing (azd env set NAME value)."
    echo "preprovision: AUTH_MODE=jwt, the app validates bearer tokens from ${JWT_ISSUER}."
    exit 0
    ;;
  appservice) ;;
  *) fail "AUTH_MODE must be appservice or jwt, not '$mode'." ;;
esac

if [ -n "${AUTH_CLIENT_ID:-}" ]; then
  echo "preprovision: App Service authentication will accept tokens for the app registration ${AUTH_CLIENT_ID}."
  exit 0
fi

how_else="Or register an app yourself and run 'azd env set AUTH_CLIENT_ID <appId>', or use AUTH_MODE=jwt with JWT_ISSUER, JWT_AUDIENCE and JWT_JWKS_URI."
command -v az >/dev/null 2>&1 || fail "AUTH_CLIENT_ID is not set and the Azure CLI (az) is not installed to create the app registration. $how_else"
cli_tenant="$(az account show --query tenantId -o tsv 2>/dev/null)" || fail "AUTH_CLIENT_ID is not set and the Azure CLI is not signed in: run 'az login' so this hook can create the app registration. $how_else"

# The registration must live in the tenant of the subscription, whose tokens App Service authentication will accept.
if [ -n "${AZURE_SUBSCRIPTION_ID:-}" ]; then
  sub_tenant="$(az account show --subscription "$AZURE_SUBSCRIPTION_ID" --query tenantId -o tsv 2>/dev/null)" ||
    fail "the Azure CLI cannot see subscription $AZURE_SUBSCRIPTION_ID: run 'az login' with an account of its tenant. $how_else"
  [ "$sub_tenant" = "$cli_tenant" ] ||
    fail "the Azure CLI is signed in to tenant $cli_tenant but subscription $AZURE_SUBSCRIPTION_ID belongs to $sub_tenant: run 'az login --tenant $sub_tenant'. $how_else"
fi

name="${AUTH_APP_NAME:-phi-chat-api-${AZURE_ENV_NAME:-default}}"
# Only a registration the signed-in user owns is reused: whoever owns the registration decides who gets tokens for it.
app_id="$(az ad app list --show-mine --query "[?displayName=='$name'].appId | [0]" -o tsv 2>/dev/null || true)"
if [ -n "$app_id" ]; then
  echo "preprovision: reusing your app registration '$name' ($app_id)."
else
  app_id="$(az ad app create --display-name "$name" --sign-in-audience AzureADMyOrg --query appId -o tsv)" ||
    fail "could not create the app registration '$name' (your tenant may not let users register applications). $how_else"
  [ -n "$app_id" ] || fail "az ad app create returned no appId for '$name'. $how_else"
  echo "preprovision: created the app registration '$name' ($app_id)."
fi

# api://<appId> is the audience clients ask tokens for (scope api://<appId>/.default). v2 access tokens carry the
# issuer https://login.microsoftonline.com/<tenant>/v2.0, the one App Service authentication is configured with.
# Entra ID issues tokens for a registration only once it has a service principal in the tenant.
az ad app update --id "$app_id" --identifier-uris "api://$app_id" --set api.requestedAccessTokenVersion=2 >/dev/null ||
  fail "could not set the identifier URI api://$app_id and v2 tokens on the app registration $app_id. $how_else"
if ! az ad sp show --id "$app_id" >/dev/null 2>&1; then
  az ad sp create --id "$app_id" >/dev/null || fail "could not create the service principal of the app registration $app_id. $how_else"
fi

azd env set AUTH_CLIENT_ID "$app_id" || fail "could not save AUTH_CLIENT_ID=$app_id in the azd environment."
echo "preprovision: AUTH_CLIENT_ID=$app_id: App Service authentication will require a token for api://$app_id on every request."
