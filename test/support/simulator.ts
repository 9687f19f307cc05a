import { startPhiSimulator, type PhiSimulator, type PhiSimulatorOptions } from '../../local/phiSimulator/startPhiSimulator.js';
import { llamaChatTokenizer } from './llamaChatTokenizer.js';

/** Starts a Phi simulator on a free loopback port, counting with the reference Llama-2 tokenizer unless told otherwise. */
export function startTestSimulator(options: Partial<PhiSimulatorOptions> = {}): Promise<PhiSimulator> {
  return startPhiSimulator({ tokenizer: llamaChatTokenizer(), ...options });
}
