import { startPhiSimulator, type PhiSimulator, type PhiSimulatorOptions } from '../../local/phiSimulator/startPhiSimulator.js';

/**
 * Starts a Phi simulator on a free loopback port, as `npm start` does: counting with the project's tokenizer for
 * the model unless a `tokenizer` is given (e.g. `llamaChatTokenizer()` as an independent reference).
 */
export function startTestSimulator(options: PhiSimulatorOptions = {}): Promise<PhiSimulator> {
  return startPhiSimulator(options);
}
