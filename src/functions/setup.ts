import { app } from '@azure/functions';
import { hasServices } from '../app.js';
import { loadConfig } from '../config.js';
import { APP_SERVICE_AUTH_OFF } from '../http/caller.js';

// Replies stream chunk by chunk (needs Functions host 4.28+).
app.setup({ enableHttpStream: true });

// A wrong setting fails the app at start, with one line naming it, instead of on the first request. Where services
// are already installed (npm start, the tests) they were built from a config checked for that host, loopback
// defaults included; under a Functions host (func start, a container, Azure) nothing is assumed.
app.hook.appStart(() => {
  if (hasServices()) return;
  const config = loadConfig();
  if (config.auth.appServiceAuthOff) console.warn(`[chat] every caller will be refused: ${APP_SERVICE_AUTH_OFF}`);
});
