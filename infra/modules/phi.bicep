// A Microsoft Foundry resource (Cognitive Services account, kind AIServices) with one Phi model deployment, billed
// per token (GlobalStandard). Its Foundry Models inference endpoint, https://<name>.services.ai.azure.com/models,
// speaks the Azure AI model inference API and accepts Microsoft Entra ID tokens for the scope
// https://cognitiveservices.azure.com/.default from principals holding "Cognitive Services User" on the account;
// keys are disabled, so the app and the deploying user reach it by identity only.
param name string
param location string
param tags object

@description('Deployment name: what the app sends as `model` (PHI_DEPLOYMENT).')
param deploymentName string

@description('Model name in the Foundry catalog, e.g. Phi-4 or Phi-4-mini-instruct.')
param modelName string

@description('Model version; empty lets the service pick the default version.')
param modelVersion string = ''

@description('Deployment SKU; GlobalStandard is pay-per-token.')
param skuName string = 'GlobalStandard'

@description('Capacity in units of 1,000 tokens per minute.')
param capacity int = 1

@description('Principal id of the app identity.')
param appPrincipalId string

@description('Principal id of the deploying user; empty for none.')
param userPrincipalId string = ''

// "Cognitive Services User": inference data actions (Microsoft.CognitiveServices/accounts/MaaS/* among them).
var cognitiveServicesUserRoleId = 'a97b65f3-24c7-4388-baec-2e87135dc908'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
  sku: { name: 'S0' }
  properties: {
    customSubDomainName: name
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource deployment 'Microsoft.CognitiveServices/accounts/deployments@2024-10-01' = {
  parent: account
  name: deploymentName
  sku: {
    name: skuName
    capacity: capacity
  }
  properties: {
    model: union(
      {
        format: 'Microsoft'
        name: modelName
      },
      empty(modelVersion) ? {} : { version: modelVersion }
    )
  }
}

resource appUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, cognitiveServicesUserRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesUserRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, cognitiveServicesUserRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', cognitiveServicesUserRoleId)
    principalId: userPrincipalId
  }
}

output name string = account.name
output modelsEndpoint string = 'https://${account.properties.customSubDomainName}.services.ai.azure.com/models'
output deploymentName string = deployment.name
