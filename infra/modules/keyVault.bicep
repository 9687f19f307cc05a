// Holds the key of an existing model endpoint (serverless endpoints accept keys only). RBAC mode: the app identity
// gets "Key Vault Secrets User" and reads the secret through a Key Vault reference in its app settings, so the key
// never appears in app settings, deployment outputs or logs.
param name string
param location string
param tags object

@secure()
@description('The model endpoint key to store.')
param phiApiKey string

@description('Principal id of the app identity.')
param appPrincipalId string

var secretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 7
    // Nobody, the owner included, can purge the key (or a deleted vault) before its retention ends. It cannot be turned
    // off again, and the vault's name stays taken for those 7 days after `azd down` (docs/deploy.md).
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
  }

  resource phiKey 'secrets' = {
    name: 'phi-api-key'
    properties: {
      value: phiApiKey
      contentType: 'text/plain'
    }
  }
}

resource appSecretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, appPrincipalId, secretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', secretsUserRoleId)
    principalId: appPrincipalId
    principalType: 'ServicePrincipal'
  }
}

output name string = vault.name
// The versionless secret URI: the app picks up a rotated key on its next reference refresh.
output phiApiKeySecretUri string = '${vault.properties.vaultUri}secrets/${vault::phiKey.name}'
