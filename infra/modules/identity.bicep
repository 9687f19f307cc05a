// The app's user-assigned managed identity: created before the app, so every role it needs (storage, Cosmos DB,
// Key Vault, the model, telemetry) can be granted before the first instance starts.
@description('Name of the identity.')
param name string
param location string
param tags object

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: name
  location: location
  tags: tags
}

output id string = identity.id
output name string = identity.name
output principalId string = identity.properties.principalId
output clientId string = identity.properties.clientId
