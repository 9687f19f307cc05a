// Cosmos DB for NoSQL, serverless, Entra ID only (keys disabled). Data-plane roles cannot create databases or
// containers, so this template must: the container below mirrors src/store/cosmosSchema.ts (CHAT_CONTAINER) exactly,
// and test/infra/template.test.ts fails when the two drift apart.
param accountName string
param location string
param tags object

@description('Database name; the app reads it as COSMOS_DATABASE.')
param databaseName string

@description('Principal id of the app identity.')
param appPrincipalId string

@description('Principal id of the deploying user, for local runs against this database (every user\'s chats); empty for none.')
param userPrincipalId string = ''

// "Cosmos DB Built-in Data Contributor": read and write items, no control-plane rights.
var dataContributorRoleId = '00000000-0000-0000-0000-000000000002'

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-11-15' = {
  name: accountName
  location: location
  tags: tags
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [
      {
        locationName: location
        failoverPriority: 0
        isZoneRedundant: false
      }
    ]
    capabilities: [{ name: 'EnableServerless' }]
    disableLocalAuth: true
    // Keys are off anyway; this also stops anyone with only data-plane access from changing the schema.
    disableKeyBasedMetadataWriteAccess: true
    minimalTlsVersion: 'Tls12'
    publicNetworkAccess: 'Enabled'
  }

  resource database 'sqlDatabases' = {
    name: databaseName
    properties: {
      resource: { id: databaseName }
    }

    resource conversations 'containers' = {
      name: 'conversations'
      properties: {
        resource: {
          id: 'conversations'
          partitionKey: {
            paths: ['/userId']
            kind: 'Hash'
            version: 2
          }
          // -1: TTL on, no default; only documents carrying their own `ttl` (idempotency records) expire.
          defaultTtl: -1
          indexingPolicy: {
            indexingMode: 'consistent'
            automatic: true
            includedPaths: [{ path: '/*' }]
            excludedPaths: [{ path: '/content/?' }, { path: '/"_etag"/?' }]
            compositeIndexes: [
              [
                { path: '/type', order: 'ascending' }
                { path: '/updatedAt', order: 'descending' }
              ]
              [
                { path: '/type', order: 'ascending' }
                { path: '/conversationId', order: 'ascending' }
                { path: '/seq', order: 'ascending' }
              ]
              [
                { path: '/type', order: 'ascending' }
                { path: '/conversationId', order: 'ascending' }
                { path: '/seq', order: 'descending' }
              ]
            ]
          }
        }
      }
    }
  }
}

// Granted on the database, not the account: the role reaches this app's data and nothing else the account may hold.
var databaseScope = '${account.id}/dbs/${account::database.name}'

resource appDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = {
  parent: account
  name: guid(databaseScope, appPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: appPrincipalId
    scope: databaseScope
  }
}

resource userDataContributor 'Microsoft.DocumentDB/databaseAccounts/sqlRoleAssignments@2024-11-15' = if (!empty(userPrincipalId)) {
  parent: account
  name: guid(databaseScope, userPrincipalId, dataContributorRoleId)
  properties: {
    roleDefinitionId: '${account.id}/sqlRoleDefinitions/${dataContributorRoleId}'
    principalId: userPrincipalId
    scope: databaseScope
  }
}

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output databaseName string = account::database.name
