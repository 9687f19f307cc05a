// A Microsoft Foundry resource (Cognitive Services account, kind AIServices) with one Phi model deployment, billed
// per token (GlobalStandard). The app calls it through the OpenAI v1 API, https://<name>.openai.azure.com/openai/v1
// (no api-version; `model` = the deployment name), with a Microsoft Entra ID token of its managed identity. Keys are
// disabled on the account, so nothing here reads, lists or hands out a key.
//
// From Microsoft's docs, not verified by a deployment here: the model name, format and version (Phi-4-mini-instruct,
// Microsoft, 1) and the GlobalStandard SKU are those of "Deploy models using Azure CLI and Bicep" (Foundry Models);
// the role is the one "Configure keyless authentication with Microsoft Entra ID" names for inference on Foundry Models.
param name string
param location string
param tags object

@description('Deployment name: what the app sends as `model` (PHI_DEPLOYMENT).')
param deploymentName string

@description('Model name in the Foundry catalog, e.g. Phi-4-mini-instruct or Phi-4.')
param modelName string

@description('Model format: the provider offering the model (Microsoft for the Phi family).')
param modelFormat string = 'Microsoft'

@description('Model version (1 for Phi-4-mini-instruct); empty lets the service pick its default version.')
param modelVersion string = ''

@description('Deployment SKU; GlobalStandard is pay-per-token.')
param skuName string = 'GlobalStandard'

@description('Deployment capacity (sku.capacity), as in Microsoft\'s samples for these models.')
param capacity int = 1

@description('Principal id of the app identity.')
param appPrincipalId string

@description('Principal id of the deploying user, for local runs against this deployment; empty for none.')
param userPrincipalId string = ''

// "Cognitive Services User": the built-in role Microsoft documents for Entra ID inference on Foundry Models (its data
// actions include Microsoft.CognitiveServices/accounts/MaaS/*). "Cognitive Services OpenAI User" is narrower but, per
// the same docs' troubleshooting table, grants access to OpenAI models only, so it cannot call a Phi deployment.
var inferenceRoleId = 'a97b65f3-24c7-4388-baec-2e87135dc908'

resource account 'Microsoft.CognitiveServices/accounts@2024-10-01' = {
  name: name
  location: location
  tags: tags
  kind: 'AIServices'
  sku: { name: 'S0' }
  properties: {
    // The subdomain is what the <name>.openai.azure.com endpoint and Entra ID authentication need.
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
        format: modelFormat
        name: modelName
      },
      empty(modelVersion) ? {} : { version: modelVersion }
    )
  }
}

resource appInference 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(account.id, appPrincipalId, inferenceRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', inferenceRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

resource userInference 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(userPrincipalId)) {
  name: guid(account.id, userPrincipalId, inferenceRoleId)
  scope: account
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', inferenceRoleId)
    principalId: userPrincipalId
  }
}

output name string = account.name
output openAiEndpoint string = 'https://${account.properties.customSubDomainName}.openai.azure.com/openai/v1'
output deploymentName string = deployment.name
