// Deploys the chat backend for `azd up` (or `az deployment sub create`): a Flex Consumption Function App, Cosmos DB
// serverless, Application Insights, and either a Phi model deployment on a Microsoft Foundry resource (the default,
// reached by managed identity) or an existing Phi endpoint whose key is kept in Key Vault.
//
// The modules are local files under infra/modules/, written in the style of the Azure Verified Modules and the azd
// Flex Consumption samples rather than referenced from the public registry (br/public:avm/...): the machines that
// build and lint this template in CI cannot reach the registry, and local modules keep `bicep build` offline.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; used to name the resource group and derive a short unique suffix.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer Flex Consumption and, when deployPhi is true, the model deployment.')
@metadata({ azd: { type: 'location' } })
param location string

@description('Object id of the deploying user (azd sets AZURE_PRINCIPAL_ID): gets data access to Cosmos DB, the model and the deployment storage for local runs. Empty for none.')
param principalId string = ''

@description('Resource group name; empty for rg-<environmentName>.')
param resourceGroupName string = ''

// ---- The model -------------------------------------------------------------------------------------------------

@description('Create a Microsoft Foundry resource with a Phi deployment reached by managed identity. Ignored when phiEndpoint is set.')
param deployPhi bool = true

@description('Foundry catalog model to deploy when deployPhi is true.')
param phiFoundryModelName string = 'Phi-4'

@description('Model version to deploy; empty for the service default.')
param phiFoundryModelVersion string = ''

@description('Deployment capacity, in 1,000 tokens per minute.')
@minValue(1)
param phiFoundryCapacity int = 1

@description('URL of an existing Phi endpoint (serverless, managed compute, or any Azure AI model inference endpoint). When set, nothing is deployed for the model.')
param phiEndpoint string = ''

@secure()
@description('Key of the existing endpoint; stored in Key Vault and handed to the app as a Key Vault reference. Empty: the app uses its managed identity.')
param phiApiKey string = ''

@description('Catalog id of the model (PHI_MODEL), e.g. phi-4, phi-3.5-mini-instruct. It must match the deployed model.')
param phiModel string = 'phi-4'

@description('Deployment name sent as `model` (PHI_DEPLOYMENT). Empty: the Foundry model name when deployPhi, unset otherwise.')
param phiDeployment string = ''

@description('Entra ID token scope for the model endpoint (PHI_TOKEN_SCOPE). Empty: the Cognitive Services scope for a Foundry deployment, the app default otherwise.')
param phiTokenScope string = ''

// ---- The app ---------------------------------------------------------------------------------------------------

@description('Cosmos DB database name (COSMOS_DATABASE).')
param cosmosDatabaseName string = 'chat'

@allowed(['appservice', 'jwt'])
@description('How the app learns the caller (AUTH_MODE). appservice trusts App Service authentication: turn it on (authClientId) before exposing the app.')
param authMode string = 'appservice'

@description('Client id of an Entra ID app registration for App Service authentication (Easy Auth). Empty leaves it off.')
param authClientId string = ''

@description('JWT_ISSUER, for authMode jwt.')
param jwtIssuer string = ''

@description('JWT_AUDIENCE, for authMode jwt.')
param jwtAudience string = ''

@description('JWT_JWKS_URI, for authMode jwt.')
param jwtJwksUri string = ''

@description('USER_DAILY_TOKEN_LIMIT: tokens per caller per UTC day, as digits; empty for no limit.')
param userDailyTokenLimit string = ''

@description('Comma-separated browser origins allowed by the platform CORS, e.g. https://app.example.com; empty for none.')
param corsAllowedOrigins string = ''

@allowed(['20', '22'])
@description('Node.js version of the Functions runtime.')
param nodeVersion string = '22'

@allowed([512, 2048, 4096])
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

// ---- Names -----------------------------------------------------------------------------------------------------

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = { 'azd-env-name': environmentName }
var deploymentContainerName = 'app-package'
var useExistingEndpoint = !empty(phiEndpoint)
var deployModel = deployPhi && !useExistingEndpoint
var storeKey = useExistingEndpoint && !empty(phiApiKey)
var cognitiveServicesScope = 'https://cognitiveservices.azure.com/.default'
var foundryDeploymentName = empty(phiDeployment) ? phiFoundryModelName : phiDeployment

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: empty(resourceGroupName) ? 'rg-${environmentName}' : resourceGroupName
  location: location
  tags: tags
}

module identity 'modules/identity.bicep' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-api-${resourceToken}'
    location: location
    tags: tags
  }
}

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  scope: rg
  params: {
    logAnalyticsName: 'log-${resourceToken}'
    applicationInsightsName: 'appi-${resourceToken}'
    location: location
    tags: tags
    publisherPrincipalId: identity.outputs.principalId
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    deploymentContainerName: deploymentContainerName
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  scope: rg
  params: {
    accountName: 'cosmos-${resourceToken}'
    location: location
    tags: tags
    databaseName: cosmosDatabaseName
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module phi 'modules/phi.bicep' = if (deployModel) {
  name: 'phi'
  scope: rg
  params: {
    name: 'ai-${resourceToken}'
    location: location
    tags: tags
    deploymentName: foundryDeploymentName
    modelName: phiFoundryModelName
    modelVersion: phiFoundryModelVersion
    capacity: phiFoundryCapacity
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
  }
}

module keyVault 'modules/keyVault.bicep' = if (storeKey) {
  name: 'keyVault'
  scope: rg
  params: {
    name: 'kv-${resourceToken}'
    location: location
    tags: tags
    phiApiKey: phiApiKey
    appPrincipalId: identity.outputs.principalId
  }
}

// Every setting src/config.ts reads that applies in Azure (test/infra/template.test.ts keeps this list honest).
// An empty value counts as unset for the app, so optional settings stay in the list with '' rather than vanish.
var phiSettings = {
  PHI_ENDPOINT: deployModel ? phi!.outputs.modelsEndpoint : phiEndpoint
  // A Key Vault reference, resolved by the platform with the app identity: the key itself is never an app setting.
  PHI_API_KEY: storeKey ? '@Microsoft.KeyVault(SecretUri=${keyVault!.outputs.phiApiKeySecretUri})' : ''
  PHI_MODEL: phiModel
  PHI_DEPLOYMENT: deployModel ? phi!.outputs.deploymentName : phiDeployment
  PHI_TOKEN_SCOPE: !empty(phiTokenScope) ? phiTokenScope : (deployModel ? cognitiveServicesScope : '')
}

var appSettings = union(phiSettings, {
  COSMOS_ENDPOINT: cosmos.outputs.endpoint
  COSMOS_DATABASE: cosmos.outputs.databaseName
  AUTH_MODE: authMode
  JWT_ISSUER: jwtIssuer
  JWT_AUDIENCE: jwtAudience
  JWT_JWKS_URI: jwtJwksUri
  USER_DAILY_TOKEN_LIMIT: userDailyTokenLimit
})

module api 'modules/functionApp.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: 'func-api-${resourceToken}'
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.id
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    storageBlobEndpoint: storage.outputs.blobEndpoint
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: monitoring.outputs.connectionString
    appSettings: appSettings
    corsAllowedOrigins: filter(map(split(corsAllowedOrigins, ','), origin => trim(origin)), origin => !empty(origin))
    nodeVersion: nodeVersion
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    authClientId: authClientId
  }
}

// Outputs land in azd's environment (.azure/<env>/.env). None is named like a parameter's variable in
// main.parameters.json, so a second `azd up` never feeds a deployed value back in as if the user had chosen it.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output SERVICE_API_NAME string = api.outputs.name
output SERVICE_API_URI string = api.outputs.uri
output API_URL string = '${api.outputs.uri}/api'
output AZURE_COSMOS_ENDPOINT string = cosmos.outputs.endpoint
output AZURE_COSMOS_DATABASE string = cosmos.outputs.databaseName
output AZURE_PHI_ENDPOINT string = deployModel ? phi!.outputs.modelsEndpoint : phiEndpoint
output AZURE_PHI_DEPLOYMENT string = deployModel ? phi!.outputs.deploymentName : phiDeployment
output APPLICATIONINSIGHTS_CONNECTION_STRING string = monitoring.outputs.connectionString
