import { services } from '../app.js';
import { httpRoute } from '../http/routes.js';
import { forCaller, json } from '../http/endpoint.js';

httpRoute('getModel', {
  route: 'model',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (_request, _context, s) => {
    const spec = s.config.phi.model;
    const info = await s.model.info();
    return json(200, {
      modelName: info?.modelName ?? spec.displayName,
      modelType: info?.modelType ?? 'chat-completions',
      modelProviderName: info?.modelProviderName ?? 'Microsoft',
      contextWindow: spec.contextWindow,
      maxOutputTokens: spec.maxOutputTokens,
      defaultMaxTokens: spec.defaultMaxTokens,
      supportsSystemMessages: spec.supportsSystemMessages,
      azureServerless: { status: spec.azureServerless.status, retiredOn: spec.azureServerless.retiredOn },
      models: s.conversations.servedModels.map((m) => m.id),
    });
  }),
});
