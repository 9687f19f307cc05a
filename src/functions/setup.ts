import { app } from '@azure/functions';
import { loadConfig } from '../config.js';

// Replies stream chunk by chunk (needs Functions host 4.28+).
app.setup({ enableHttpStream: true });

// A wrong setting fails the app at start, with one line naming it, instead of on the first request.
app.hook.appStart(() => {
  loadConfig();
});
