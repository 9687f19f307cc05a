import { services } from '../app.js';
import { httpRoute } from '../http/routes.js';
import { ValidationError } from '../chat/errors.js';
import { dailyQuota } from '../chat/dailyQuota.js';
import { utcDay } from '../chat/UsageLedger.js';
import { forCaller, json } from '../http/endpoint.js';
import { parseWith, queryObject } from '../http/request.js';
import { requestSchemas } from '../http/requestSchemas.js';

const MAX_DAYS = 366;
const DAY_MS = 86_400_000;

httpRoute('getUsage', {
  route: 'usage',
  methods: ['GET'],
  authLevel: 'anonymous',
  handler: forCaller(services, async (request, _context, s, caller) => {
    const { usageQuery } = await requestSchemas();
    const query = parseWith(usageQuery, queryObject(request), 'query string');
    const now = s.clock.now();
    const today = utcDay(now);
    const to = query.to ?? today;
    const from = query.from ?? to;
    const span = (Date.parse(to) - Date.parse(from)) / DAY_MS + 1;
    if (span < 1) throw new ValidationError('"from" must not be after "to".', [{ field: 'from', message: 'after to' }]);
    if (span > MAX_DAYS) throw new ValidationError(`At most ${MAX_DAYS} days at a time.`, [{ field: 'from', message: `more than ${MAX_DAYS} days before to` }]);

    const [days, quota] = await Promise.all([
      s.ledger.days(caller.userId, from, to),
      dailyQuota(s.ledger, s.reservations, caller.userId, s.config.limits.userDailyTokenLimit, now),
    ]);
    const totals = days.reduce(
      (t, d) => ({
        promptTokens: t.promptTokens + d.promptTokens,
        completionTokens: t.completionTokens + d.completionTokens,
        totalTokens: t.totalTokens + d.totalTokens,
        requests: t.requests + d.requests,
      }),
      { promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0 },
    );
    return json(200, { from, to, totals, days, quota });
  }),
});
