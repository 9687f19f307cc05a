import { services } from '../app.js';
import { httpRoute } from '../http/routes.js';
import { usageReport } from '../chat/UsageReport.js';
import { forCaller, json } from '../http/endpoint.js';
import { parseWith, queryObject } from '../http/request.js';
import { requestSchemas } from '../http/requestSchemas.js';

httpRoute('getUsage', {
  route: 'usage',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const { usageQuery } = await requestSchemas();
    const query = parseWith(usageQuery, queryObject(request), 'query string');
    const sources = { ledger: s.ledger, reservations: s.reservations, dailyTokenLimit: s.config.limits.userDailyTokenLimit };
    return json(200, await usageReport(sources, caller.userId, query, s.clock.now()));
  }),
});
