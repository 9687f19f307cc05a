// The API: a Linux Function App on the Flex Consumption plan (FC1, scales to zero), Node.js, one user-assigned
// identity for everything (host storage, deployment package, telemetry, Key Vault references, Cosmos DB, the model).
// HTTP streaming needs nothing here: the app turns it on in code (app.setup({ enableHttpStream: true })).
param name string
param planName string
param location string
param tags object

@description('Resource id of the user-assigned identity.')
param identityId string

@description('Client id of the user-assigned identity.')
param identityClientId string

param storageAccountName string
param storageBlobEndpoint string
param deploymentContainerName string
param applicationInsightsConnectionString string

@description('The application\'s own settings (what src/config.ts reads), merged with the platform settings below.')
param appSettings object

@description('Browser origins allowed by the platform CORS (e.g. https://app.example.com); empty for none.')
param corsAllowedOrigins array = []

@allowed(['20', '22'])
param nodeVersion string = '22'

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

@allowed(['appservice', 'jwt'])
@description('AUTH_MODE. appservice: App Service authentication (Easy Auth) is always on, so the x-ms-client-principal headers the app trusts can only come from the platform; jwt: the app checks bearer tokens itself.')
param authMode string

@description('Client id of the Entra ID app registration Easy Auth validates tokens for; required with authMode appservice.')
param authClientId string = ''

@description('Client ids of the applications allowed to call the API with Easy Auth, besides the registration itself.')
param authAllowedApplications array = []

@description('Tenant that issues the tokens Easy Auth accepts.')
param authTenantId string = tenant().tenantId

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  tags: union(tags, { 'azd-service-name': 'api' })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identityId}': {} }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    // Key Vault references are resolved with this identity (there is no system-assigned one).
    keyVaultReferenceIdentity: identityId
    siteConfig: {
      minTlsVersion: '1.2'
      http20Enabled: true
      cors: {
        allowedOrigins: corsAllowedOrigins
        supportCredentials: false
      }
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storageBlobEndpoint}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: nodeVersion
      }
    }
  }

  resource settings 'config' = {
    name: 'appsettings'
    properties: union(appSettings, {
      // Host storage by identity: no connection string, no key.
      AzureWebJobsStorage__accountName: storageAccountName
      AzureWebJobsStorage__credential: 'managedidentity'
      AzureWebJobsStorage__clientId: identityClientId
      APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
      // Telemetry by identity (local auth is disabled on the Application Insights resource).
      APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'
      // DefaultAzureCredential picks the user-assigned identity by this client id (Cosmos DB, the model).
      AZURE_CLIENT_ID: identityClientId
    })
  }

  // Deployed whenever the app trusts the platform's headers, never conditional on a value that may be missing.
  // main.bicep refuses appservice without a client id before anything is created; there is no fail() here, because
  // Resource Manager may evaluate (and preflight) a resource whose condition is false, which would break jwt mode.
  resource auth 'config' = if (authMode == 'appservice') {
    name: 'authsettingsV2'
    properties: {
      platform: { enabled: true }
      globalValidation: {
        requireAuthentication: true
        unauthenticatedClientAction: 'Return401'
        // The contract's health route needs no caller (probes and load balancers have no token). It reads no
        // identity, so a principal header forged on it reaches nothing; every other path needs a token.
        excludedPaths: [
          '/api/health'
        ]
      }
      identityProviders: {
        azureActiveDirectory: {
          enabled: true
          registration: {
            clientId: authClientId
            // loginEndpoint ends with a slash, e.g. https://login.microsoftonline.com/ in the public cloud.
            openIdIssuer: '${environment().authentication.loginEndpoint}${authTenantId}/v2.0'
          }
          validation: {
            allowedAudiences: [authClientId, 'api://${authClientId}']
            // Without this policy any application of the tenant could obtain a token for the API and call it.
            defaultAuthorizationPolicy: {
              allowedApplications: union([authClientId], authAllowedApplications)
            }
          }
        }
      }
      login: {
        tokenStore: { enabled: false }
      }
    }
  }

  // Publishing by user name and password (FTP and the SCM site) is off: azd deploys with an Entra ID token.
  resource ftpCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'ftp'
    properties: { allow: false }
  }

  resource scmCredentials 'basicPublishingCredentialsPolicies' = {
    name: 'scm'
    properties: { allow: false }
  }
}

output name string = site.name
output uri string = 'https://${site.properties.defaultHostName}'
